"""mediaflow local-process Lambda runtime executor for LocalStack."""
