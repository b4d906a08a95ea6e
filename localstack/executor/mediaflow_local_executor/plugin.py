"""plux plugin: registered under the entry point group ``localstack.lambda.runtime_executor``
with the name ``local-process`` (select it with ``LAMBDA_RUNTIME_EXECUTOR=local-process``)."""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class LocalProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "local-process"

    def load(self, *args, **kwargs):
        from mediaflow_local_executor.executor import LocalProcessRuntimeExecutor

        return LocalProcessRuntimeExecutor
