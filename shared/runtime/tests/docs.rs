//! The documentation lists what the build also lists: the functions, which of them link FFmpeg and
//! libheif, and each artifact's licence. These tests hold README, `docs/architecture.md` and
//! `NOTICE.md` to the Makefile (whose lists `make check-package` checks against the artifacts
//! themselves) and to the `functions/` folders, so that a function added or a library moved
//! cannot leave the docs behind. Here, in the crate every function is built with.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The words of the Makefile variable `name` (`FUNCTIONS := a b c`).
fn makefile_list(name: &str) -> BTreeSet<String> {
    let makefile = read("Makefile");
    let line = makefile
        .lines()
        .find(|line| line.starts_with(&format!("{name} :=")))
        .unwrap_or_else(|| panic!("the Makefile has no {name}"));
    line.split_once(":=")
        .map(|(_, words)| words.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The names in backticks in `text`.
fn backticked(text: &str) -> BTreeSet<String> {
    text.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// Function names in a list such as "thumbnail, metadata, moderate and the CLI".
fn names_in(list: &str) -> BTreeSet<String> {
    list.replace(" and ", ", ")
        .split(',')
        .map(|word| word.trim().trim_matches('`').to_owned())
        .filter(|word| !word.is_empty() && !word.starts_with("the "))
        .collect()
}

#[test]
fn the_functions_are_the_makefiles_the_folders_and_the_docs() {
    let functions = makefile_list("FUNCTIONS");
    let folders: BTreeSet<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions"))
            .expect("functions/")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
    assert_eq!(folders, functions, "functions/ against the Makefile's FUNCTIONS");
    let readme = read("README.md");
    let map = readme
        .lines()
        .find(|line| line.starts_with("| `functions/{"))
        .expect("README's crate map has a functions/{...} row");
    let listed: BTreeSet<String> =
        map.split(['{', '}']).nth(1).unwrap_or_default().split(',').map(str::to_owned).collect();
    assert_eq!(listed, functions, "README's crate map against the Makefile: {map}");
    let architecture = read("docs/architecture.md");
    for function in &functions {
        assert!(
            architecture.contains(&format!("`{function}`")),
            "docs/architecture.md never names `{function}`"
        );
    }
}

/// What NOTICE.md's table says each artifact contains (`as X, plus ...` resolved) and its licence.
fn notice_artifacts() -> BTreeMap<String, (String, String)> {
    let notice = read("NOTICE.md");
    let mut rows: BTreeMap<String, (String, String)> = BTreeMap::new();
    for line in notice.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(name) = backticked(cells[1]).into_iter().next() else { continue };
        let (contains, licence) = (cells[2], cells[3]);
        let contains = match contains.strip_prefix("as `").and_then(|rest| rest.split_once('`')) {
            Some((base, rest)) => {
                let base = rows.get(base).map(|(contains, _)| contains.clone()).unwrap_or_default();
                format!("{base} {rest}")
            }
            None => contains.to_owned(),
        };
        rows.insert(name, (contains, licence.to_owned()));
    }
    rows
}

#[test]
fn notice_says_which_artifacts_link_ffmpeg_and_libheif_as_the_makefile_checks() {
    let artifacts = notice_artifacts();
    let (video, images) = (makefile_list("VIDEO_FUNCTIONS"), makefile_list("IMAGE_FUNCTIONS"));
    for function in makefile_list("FUNCTIONS") {
        let (contains, _) = artifacts
            .get(&function)
            .unwrap_or_else(|| panic!("NOTICE.md's table has no row for `{function}`"));
        assert_eq!(
            contains.contains("FFmpeg"),
            video.contains(&function),
            "NOTICE.md on FFmpeg in `{function}`"
        );
        assert_eq!(
            contains.contains("libheif"),
            images.contains(&function),
            "NOTICE.md on libheif in `{function}`"
        );
    }
    let readme = read("README.md");
    for (crate_path, expected) in [("shared/media-heif", &images), ("shared/pipeline-video", &video)] {
        let row = readme
            .lines()
            .find(|line| line.starts_with(&format!("| `{crate_path}`")))
            .expect("a crate map row");
        let list = row.split("only in ").nth(1).and_then(|rest| rest.split('|').next()).unwrap_or_default();
        assert_eq!(&names_in(list), expected, "README's crate map on where {crate_path} is linked: {row}");
    }
}

#[test]
fn readmes_licences_are_notices() {
    const LICENCES: [&str; 3] = ["GPL-3.0-or-later", "GPL-2.0-or-later", "MIT OR Apache-2.0"];
    // The licence named first in `text` (not the GPL inside an "LGPL").
    let licence_of = |text: &str| {
        LICENCES
            .into_iter()
            .filter_map(|licence| {
                text.match_indices(licence)
                    .find(|(at, _)| !text[..*at].ends_with('L'))
                    .map(|(at, _)| (at, licence))
            })
            .min()
            .map(|(_, licence)| licence)
    };
    let artifacts = notice_artifacts();
    let readme = read("README.md");
    let section = readme.split("## Licence").nth(1).expect("README has a Licence section");
    let paragraph =
        section.split("\n## ").next().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
    let mut named = BTreeSet::new();
    // Each clause names artifacts and then says their licence ("`a` and `b` are MIT OR ...").
    for clause in paragraph.split(';') {
        let (names, said) =
            clause.split_once(" are ").or_else(|| clause.split_once(" is ")).unwrap_or(("", clause));
        let Some(said) = licence_of(said) else { continue };
        for name in backticked(names).into_iter().filter(|name| artifacts.contains_key(name)) {
            let (_, notice) = &artifacts[&name];
            assert_eq!(licence_of(notice), Some(said), "README says `{name}` is {said}; NOTICE.md: {notice}");
            named.insert(name);
        }
    }
    for function in makefile_list("FUNCTIONS") {
        assert!(
            named.contains(&function),
            "README's licence section does not say what `{function}` is under"
        );
    }
}
