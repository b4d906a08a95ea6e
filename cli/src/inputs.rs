//! Turning command-line paths into the list of input files, each with the path its outputs go under.

use std::path::{Path, PathBuf};

/// One input file and where its outputs go, relative to the output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The file to read.
    pub path: PathBuf,
    /// Its path relative to the argument it was found under (the file name for a file argument).
    pub relative: PathBuf,
}

/// Expands `arguments`: files stay as they are, folders are walked recursively (sorted, hidden
/// files skipped). A path that does not exist is kept, so it is reported as a failed input.
pub fn collect_inputs(arguments: &[PathBuf]) -> Vec<Input> {
    let mut inputs = Vec::new();
    for argument in arguments {
        if argument.is_dir() {
            let walker = walkdir::WalkDir::new(argument).follow_links(true).sort_by_file_name().into_iter();
            for entry in walker.filter_entry(|entry| entry.depth() == 0 || !is_hidden(entry.path())) {
                match entry {
                    Ok(entry) if entry.file_type().is_file() => {
                        let relative =
                            entry.path().strip_prefix(argument).unwrap_or(entry.path()).to_path_buf();
                        inputs.push(Input { path: entry.path().to_path_buf(), relative });
                    }
                    Ok(_) => {}
                    // An unreadable folder entry becomes a failed input rather than a silent skip.
                    Err(error) => {
                        let path = error.path().unwrap_or(argument).to_path_buf();
                        inputs.push(Input { relative: file_name(&path), path });
                    }
                }
            }
        } else {
            inputs.push(Input { path: argument.clone(), relative: file_name(argument) });
        }
    }
    inputs
}

fn file_name(path: &Path) -> PathBuf {
    path.file_name().map_or_else(|| path.to_path_buf(), PathBuf::from)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_walked_recursively_and_files_keep_their_name() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("a/b"))?;
        std::fs::write(dir.path().join("a/b/one.jpg"), b"x")?;
        std::fs::write(dir.path().join("two.png"), b"x")?;
        std::fs::write(dir.path().join(".hidden"), b"x")?;
        let inputs = collect_inputs(&[dir.path().to_path_buf(), dir.path().join("two.png")]);
        let relative: Vec<_> = inputs.iter().map(|input| input.relative.clone()).collect();
        assert_eq!(
            relative,
            vec![PathBuf::from("a/b/one.jpg"), PathBuf::from("two.png"), PathBuf::from("two.png")]
        );
        Ok(())
    }
}
