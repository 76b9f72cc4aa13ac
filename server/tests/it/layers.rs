//! The server's layers only look down, checked on its source: every
//! `crate::…` and `super::…` path outside test code is an edge from its file
//! to the module it names. Leaves (time, tokens, limits, …) import no other
//! part of the server; storage imports no sync, domain or HTTP code; the sync
//! hub imports no domain or HTTP code; the domain layer (`desk`) imports no
//! HTTP code; a route module imports no other route module; and no import
//! circle spans more than two files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules that import nothing of the server but other leaves.
const LEAVES: [&str; 12] = [
    "audit",
    "clock",
    "files",
    "tokens",
    "panic_guard",
    "limits",
    "client_ip",
    "business_hours",
    "links",
    "identity",
    "config",
    "log_lines",
];

/// For each layer, the areas it must not import.
const FORBIDDEN: [(&str, &[&str]); 5] = [
    (
        "storage",
        &[
            "sync", "routes", "mail", "auth", "seed", "desk", "sites", "error", "events",
            "webhooks",
        ],
    ),
    (
        "sync",
        &[
            "routes", "mail", "auth", "seed", "desk", "error", "webhooks",
        ],
    ),
    (
        "events",
        &[
            "sync", "routes", "mail", "auth", "seed", "desk", "error", "webhooks",
        ],
    ),
    ("desk", &["routes", "error"]),
    ("kb", &["routes", "auth", "error", "desk"]),
];

/// A source file and the module path it holds (`sync::hub` for `src/sync/hub.rs`).
struct Source {
    module: Vec<String>,
    text: String,
}

fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts == ["lib"] {
        Vec::new()
    } else {
        parts
    }
}

/// Every `.rs` file under `dir` (also read by `openapi.rs`).
pub(crate) fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The text without comments and without `#[cfg(test)]` items (a test
/// module's block, or a `mod x;` whose file is then left out too).
fn without_tests(text: &str, test_modules: &mut BTreeSet<String>) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed.starts_with("#[cfg(test)]") {
            let Some(next) = lines.next() else { break };
            let item = next.trim_start();
            if let Some(name) = item
                .strip_prefix("mod ")
                .or_else(|| item.strip_prefix("pub mod "))
                .or_else(|| item.strip_prefix("pub(crate) mod "))
                .and_then(|rest| rest.strip_suffix(';'))
            {
                test_modules.insert(name.trim().to_owned());
                continue;
            }
            // Skip the item up to its closing brace at its own indentation.
            let indent = next.len() - item.len();
            if item.ends_with('{') {
                for inner in lines.by_ref() {
                    let t = inner.trim_start();
                    if inner.len() - t.len() == indent && t.starts_with('}') {
                        break;
                    }
                }
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The paths a file names: `crate::a::b`, `crate::{a, b::c}`, `super::x`.
fn named_paths(source: &Source) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let ident = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|p| {
                p.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|p| !p.is_empty() && p.chars().next().is_some_and(|c| c.is_lowercase()))
            .collect()
    };
    let text = &source.text;
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", {
            let mut parent = source.module.clone();
            parent.pop();
            parent
        }),
    ] {
        let mut rest = text.as_str();
        while let Some(at) = rest.find(prefix) {
            // Not part of a longer name (`stufe_crate::`).
            let before = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let inner = &group[..group.find('}').unwrap_or(group.len())];
                for item in inner.split(',') {
                    let mut path = base.clone();
                    path.extend(ident(item.trim()));
                    paths.push(path);
                }
            } else {
                let mut path = base.clone();
                path.extend(ident(rest));
                paths.push(path);
            }
        }
    }
    paths
}

fn sources() -> Vec<Source> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut test_modules: BTreeSet<String> = BTreeSet::new();
    let mut all: Vec<Source> = files
        .iter()
        .filter(|f| !f.ends_with("main.rs") && !f.to_string_lossy().contains("/bin/"))
        .map(|file| {
            let module = module_of(&src, file);
            let mut declared = BTreeSet::new();
            let text = without_tests(&std::fs::read_to_string(file).unwrap(), &mut declared);
            for name in declared {
                let mut path = module.clone();
                path.push(name);
                test_modules.insert(path.join("::"));
            }
            Source { module, text }
        })
        .collect();
    all.retain(|s| {
        let name = s.module.join("::");
        !test_modules
            .iter()
            .any(|t| name == *t || name.starts_with(&format!("{t}::")))
    });
    all
}

/// File-level edges: module → the deepest module (a file) each path names.
fn edges(sources: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let files: BTreeSet<String> = sources.iter().map(|s| s.module.join("::")).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in sources {
        let from = source.module.join("::");
        let targets = graph.entry(from.clone()).or_default();
        for path in named_paths(source) {
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|candidate| files.contains(candidate));
            if let Some(target) = target.filter(|t| *t != from && !t.is_empty()) {
                targets.insert(target);
            }
        }
    }
    graph
}

fn area(module: &str) -> &str {
    module.split("::").next().unwrap_or("")
}

#[test]
fn the_servers_layers_only_look_down() {
    let graph = edges(&sources());
    assert!(graph.len() > 40, "the source was not found: {graph:?}");
    let mut wrong = Vec::new();
    for (from, targets) in &graph {
        for to in targets {
            let (a, b) = (area(from), area(to));
            if a == b {
                continue;
            }
            if LEAVES.contains(&a) && !LEAVES.contains(&b) {
                wrong.push(format!("{from} (a leaf) imports {to}"));
            }
            for (layer, forbidden) in FORBIDDEN {
                if a == layer && forbidden.contains(&b) {
                    wrong.push(format!("{from} ({layer}) imports {to}"));
                }
            }
        }
        // Route modules do not import each other (`routes::console::*` are one).
        if area(from) == "routes" {
            let own: Vec<&str> = from.split("::").take(2).collect();
            for to in targets {
                let theirs: Vec<&str> = to.split("::").take(2).collect();
                if area(to) == "routes" && theirs.len() == 2 && own.len() == 2 && theirs != own {
                    wrong.push(format!("{from} imports the other route module {to}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

/// Strongly connected components of the file graph (Tarjan).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, node: &'g str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top.to_owned());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

#[test]
fn no_import_circle_spans_more_than_two_files() {
    let graph = edges(&sources());
    let too_big: Vec<Vec<String>> = circles(&graph)
        .into_iter()
        .filter(|c| c.len() > 2)
        .collect();
    assert!(too_big.is_empty(), "import circles: {too_big:#?}");
}

#[test]
fn the_check_sees_a_circle_and_a_wrong_import() {
    let source = |module: &str, text: &str| Source {
        module: module.split("::").map(str::to_owned).collect(),
        text: text.to_owned(),
    };
    let sources = [
        source("storage", "use crate::sync::hub::Hub;"),
        source("sync::hub", "use crate::{storage, mail::Mailer};"),
        source("mail", "fn f() { crate::storage::x(); }"),
    ];
    let graph = edges(&sources);
    assert!(graph["storage"].contains("sync::hub"));
    assert_eq!(
        graph["sync::hub"],
        BTreeSet::from(["storage".to_owned(), "mail".to_owned()])
    );
    assert_eq!(
        circles(&graph),
        [vec![
            "mail".to_owned(),
            "storage".to_owned(),
            "sync::hub".to_owned()
        ]]
    );
}

/// Whether `text` names `word` as a whole identifier (`Storage`, not `StorageError`).
fn names_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().last();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

#[test]
fn the_hub_sees_storage_only_through_its_documents() {
    let hub: Vec<Source> = sources()
        .into_iter()
        .filter(|s| s.module.starts_with(&["sync".to_owned(), "hub".to_owned()]))
        .collect();
    assert!(hub.len() > 3, "the hub's files were not found");
    let wrong: Vec<String> = hub
        .iter()
        // `HubError::Storage` is the hub's own error variant, not the trait.
        .filter(|s| names_word(&s.text.replace("HubError::Storage", ""), "Storage"))
        .map(|s| s.module.join("::"))
        .collect();
    assert!(
        wrong.is_empty(),
        "the hub names the whole Storage (not DocStore) in {wrong:?}"
    );
    assert!(names_word("Arc<dyn Storage>", "Storage"));
    assert!(!names_word("StorageError, SharedDocStore", "Storage"));
}
