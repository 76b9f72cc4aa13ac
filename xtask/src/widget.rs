//! Building the widget into the site dir, as `Leptos.toml` describes:
//! cargo (wasm32, size profile) -> wasm-bindgen (library, same version as the
//! widget's wasm-bindgen) -> wasm-opt -Oz -> content-hashed names -> brotli
//! and gzip siblings, plus the frame page and the `widget.js` loader with its
//! `panel.js`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{cargo, run_cmd, tools};

#[derive(Deserialize)]
struct LeptosToml {
    package: Settings,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Settings {
    lib_package: String,
    output_name: String,
    site_root: PathBuf,
    site_pkg_dir: String,
    style_file: PathBuf,
    shell_style_file: PathBuf,
    loader_file: PathBuf,
    panel_file: PathBuf,
    lib_profile_release: String,
    #[serde(default)]
    lib_rustflags: String,
    wasm_opt: bool,
    #[serde(default)]
    wasm_opt_features: Vec<String>,
}

fn settings(root: &Path) -> Result<Settings> {
    let text = fs::read_to_string(root.join("Leptos.toml")).context("reading Leptos.toml")?;
    Ok(toml::from_str::<LeptosToml>(&text)
        .context("parsing Leptos.toml")?
        .package)
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The Help tab in plain JS, shown while the wasm loads (see the file).
const HELP_SHELL: &str = "widget/shell/help.js";
/// The frame's start-up: when the wasm loads (see the file).
const BOOT: &str = "widget/shell/boot.js";

/// Runs wasm-bindgen on cargo's `wasm` into `out` (emptied first) and, as
/// `Leptos.toml` says, `wasm-opt -Oz` on the result; returns the `_bg.wasm`.
fn bindgen_and_optimise(
    root: &Path,
    s: &Settings,
    wasm: &Path,
    out: &Path,
    name: &str,
) -> Result<PathBuf> {
    let _ = fs::remove_dir_all(out);
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(wasm)
        .web(true)?
        .typescript(false)
        .out_name(name)
        .generate(out)
        .context("wasm-bindgen")?;
    let bg_wasm = out.join(format!("{name}_bg.wasm"));
    if s.wasm_opt {
        println!("optimising the wasm with wasm-opt -Oz");
        let mut cmd = Command::new(tools::wasm_opt(root)?);
        cmd.arg("-Oz");
        for feature in &s.wasm_opt_features {
            cmd.arg(format!("--enable-{feature}"));
        }
        cmd.arg(&bg_wasm).arg("-o").arg(&bg_wasm);
        run_cmd(&mut cmd)?;
    }
    Ok(bg_wasm)
}

/// The floor under the widget's weight (`tools/floor`): Leptos and
/// Automerge alone, and each alone, built and optimised exactly as the
/// widget is; prints their brotli sizes beside the widget's wasm in `site`.
pub fn floor(root: &Path, site: &Path) -> Result<()> {
    let s = settings(root)?;
    tools::ensure_wasm_target()?;
    let manifest = root.join("tools/floor/Cargo.toml");
    let target = target_dir(root);
    let rustflags = s.lib_rustflags.trim().to_owned();
    let mut sizes = Vec::new();
    for (what, features) in [
        ("Leptos + Automerge", "automerge,leptos"),
        ("Automerge alone", "automerge"),
        ("Leptos alone", "leptos"),
    ] {
        println!("building the floor: {what}");
        run_cmd(
            cargo()
                .arg("build")
                .arg("--manifest-path")
                .arg(&manifest)
                .args(["--target", "wasm32-unknown-unknown", "--profile"])
                .arg(&s.lib_profile_release)
                .args(["--no-default-features", "--features", features])
                .env("CARGO_TARGET_DIR", &target)
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", &rustflags),
        )?;
        let wasm = target
            .join("wasm32-unknown-unknown")
            .join(&s.lib_profile_release)
            .join("stufe_floor.wasm");
        let bg = bindgen_and_optimise(root, &s, &wasm, &target.join("floor-bindgen"), "floor")?;
        sizes.push((what, brotli(&fs::read(&bg)?).len()));
    }
    let widget = fs::read_dir(site.join(&s.site_pkg_dir))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "wasm"))
        .context("no widget wasm in the site dir")?;
    let widget = brotli(&fs::read(&widget)?).len();
    println!("\nthe floor under the widget's wasm (wasm-opt'ed, brotli 11):");
    for (what, size) in &sizes {
        println!("{what:<40}{size:>10} B");
    }
    println!("{:<40}{widget:>10} B", "the widget's wasm");
    println!(
        "{:<40}{:>10} B",
        "the widget's own part (widget - floor)",
        widget.saturating_sub(sizes[0].1)
    );
    Ok(())
}

/// Builds the widget; returns the site dir the server should serve.
pub fn build(root: &Path) -> Result<PathBuf> {
    let s = settings(root)?;
    tools::ensure_wasm_target()?;
    println!(
        "building the widget ({} profile, wasm32)",
        s.lib_profile_release
    );
    // For the wasm target only (host build scripts and proc macros are not
    // rebuilt), and on top of what the environment already asks for.
    let rustflags = std::env::var("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS")
        .map(|outer| format!("{outer} {}", s.lib_rustflags))
        .unwrap_or_else(|_| s.lib_rustflags.clone());
    run_cmd(
        cargo()
            .args([
                "build",
                "--package",
                &s.lib_package,
                "--target",
                "wasm32-unknown-unknown",
                "--profile",
                &s.lib_profile_release,
            ])
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
                rustflags.trim(),
            ),
    )?;
    let target = target_dir(root);
    let crate_file = s.lib_package.replace('-', "_");
    let wasm = target
        .join("wasm32-unknown-unknown")
        .join(&s.lib_profile_release)
        .join(format!("{crate_file}.wasm"));
    let site = root.join(&s.site_root);
    let pkg = site.join(&s.site_pkg_dir);
    let css = fs::read(root.join(&s.style_file)).context("reading the style file")?;
    let shell_css =
        fs::read(root.join(&s.shell_style_file)).context("reading the shell's style file")?;
    let loader = fs::read_to_string(root.join(&s.loader_file)).context("reading the loader")?;
    let panel = fs::read(root.join(&s.panel_file)).context("reading the loader's panel")?;
    let shell = fs::read(root.join(HELP_SHELL)).context("reading the help shell")?;
    let boot = fs::read_to_string(root.join(BOOT)).context("reading the frame's start-up")?;

    let mut fingerprint = Sha256::new();
    for part in [
        &fs::read(&wasm)?,
        &css,
        &shell_css,
        loader.as_bytes(),
        &panel,
        &shell,
        boot.as_bytes(),
        &fs::read(root.join("Leptos.toml"))?,
        // How the assets are put together (frame page, service worker) is part of a release too.
        include_str!("widget.rs").as_bytes(),
    ] {
        fingerprint.update(part);
    }
    let fingerprint = hex::encode(fingerprint.finalize());
    let stamp = site.join(".fingerprint");
    if fs::read_to_string(&stamp).ok().as_deref() == Some(fingerprint.as_str()) {
        println!("widget assets are up to date in {}", site.display());
        return Ok(site);
    }

    let bindgen_out = target.join("wasm-bindgen");
    let bg_wasm = bindgen_and_optimise(root, &s, &wasm, &bindgen_out, &s.output_name)?;

    let _ = fs::remove_dir_all(&site);
    fs::create_dir_all(&pkg)?;
    let glue = write_hashed(
        &pkg,
        &s.output_name,
        "js",
        &fs::read(bindgen_out.join(format!("{}.js", s.output_name)))?,
    )?;
    let wasm_name = write_hashed(
        &pkg,
        &format!("{}_bg", s.output_name),
        "wasm",
        &fs::read(&bg_wasm)?,
    )?;
    let css_name = write_hashed(&pkg, "stufe", "css", &minified_css(root, &css)?)?;
    let shell_css_name = write_hashed(&pkg, "shell", "css", &minified_css(root, &shell_css)?)?;
    let snippets = bindgen_out.join("snippets");
    if snippets.exists() {
        copy_dir(&snippets, &pkg.join("snippets"))?;
    }
    // No inline script: the frame runs under a strict Content-Security-Policy
    // (script-src 'self'), so its start-up lives in a file of its own. It
    // loads the Help shell and the wasm only when they are needed (see the file).
    let shell_name = write_hashed(&pkg, "help", "js", &minified(root, &shell)?)?;
    let boot = boot
        .replace("__GLUE__", &glue)
        .replace("__WASM__", &wasm_name)
        .replace("__CSS__", &css_name)
        .replace("__SHELL_CSS__", &shell_css_name)
        .replace("__HELP__", &shell_name);
    let boot_name = write_hashed(&pkg, "boot", "js", &minified(root, boot.as_bytes())?)?;
    let frame = format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Support</title>
</head><body>
<script src="{boot_name}" defer></script>
</body></html>
"#
    );
    write_compressed(&pkg.join("frame.html"), frame.as_bytes())?;
    let assets = [
        shell_name.as_str(),
        boot_name.as_str(),
        glue.as_str(),
        wasm_name.as_str(),
        css_name.as_str(),
        shell_css_name.as_str(),
    ];
    write_compressed(
        &pkg.join("sw.js"),
        service_worker(&fingerprint[..10], &assets).as_bytes(),
    )?;
    // The rest of the loader, under a name that stays (a loader cached from
    // the release before still finds a panel after a deploy; the two keep
    // their hand-over compatible), with this release's hash as its query so
    // a new loader does not get an older panel from the browser's cache.
    let panel = minified(root, &panel)?;
    write_compressed(&pkg.join("panel.js"), &panel)?;
    let panel_url = format!("panel.js?v={}", content_hash(&panel));
    let loader = loader.replace("__PANEL__", &panel_url);
    write_compressed(&site.join("widget.js"), &minified(root, loader.as_bytes())?)?;
    fs::write(&stamp, fingerprint)?;
    println!("widget built into {}", site.display());
    Ok(site)
}

/// `js` minified by terser (compress and mangle; the sources stay readable
/// in the repository, the host page gets the small form).
fn minified(root: &Path, js: &[u8]) -> Result<Vec<u8>> {
    filtered(
        Command::new(tools::terser(root)?).args(["--compress", "--mangle", "--ecma", "2017"]),
        "terser",
        js,
    )
}

/// `css` minified by clean-css (level 1: each rule on its own, none merged
/// or moved, so the cascade stays as written).
fn minified_css(root: &Path, css: &[u8]) -> Result<Vec<u8>> {
    filtered(
        Command::new(tools::cleancss(root)?).arg("-O1"),
        "clean-css",
        css,
    )
}

/// What `command` (named `name` in errors) writes for `input` on its stdin.
fn filtered(command: &mut Command, name: &str, input: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    child
        .stdin
        .take()
        .with_context(|| format!("{name}'s input"))?
        .write_all(input)?;
    let out = child.wait_with_output()?;
    anyhow::ensure!(out.status.success(), "{name} failed");
    Ok(out.stdout)
}

/// The frame's service worker: it keeps this release's frame page and hashed
/// assets in a cache, so the widget loads (and shows its queued tickets) while
/// the server is unreachable. The frame page is network-first so a new release
/// is picked up as soon as the server answers.
fn service_worker(release: &str, assets: &[&str]) -> String {
    let list = assets
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"/* Stufe widget service worker, release {release}. Generated by `cargo xtask build`. */
const CACHE = "stufe-{release}";
const ASSETS = [{list}];
// The frame page is kept per site (`frame.html?site=…`): each site's copy
// carries that site's Content-Security-Policy (frame-ancestors). At install,
// the frames open now (the one that registered this worker) are kept too.
self.addEventListener("install", (e) => {{
  e.waitUntil(caches.open(CACHE)
    .then((c) => self.clients.matchAll({{ type: "window", includeUncontrolled: true }})
      .then((frames) => c.addAll(ASSETS.concat(frames.map((f) => f.url).filter((u) => new URL(u).pathname.endsWith("/frame.html"))))))
    .then(() => self.skipWaiting()));
}});
self.addEventListener("activate", (e) => {{
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("stufe-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
}});
self.addEventListener("fetch", (e) => {{
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin || !url.pathname.startsWith("/w/")) return;
  if (url.pathname.endsWith("/frame.html")) {{
    e.respondWith(fetch(e.request).then((r) => {{
      if (r.ok) {{ const copy = r.clone(); caches.open(CACHE).then((c) => c.put(e.request, copy)); }}
      return r;
    }}).catch(() => caches.match(e.request)));
    return;
  }}
  e.respondWith(caches.match(e.request, {{ ignoreSearch: true }}).then((hit) => hit || fetch(e.request)));
}});
"#
    )
}

/// The short content hash that names (or versions) a release's file.
fn content_hash(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..5])
}

/// Writes `NAME-HASH.EXT` (plus .br and .gz); returns the file name.
fn write_hashed(dir: &Path, name: &str, ext: &str, bytes: &[u8]) -> Result<String> {
    let hash = content_hash(bytes);
    let file = format!("{name}-{hash}.{ext}");
    write_compressed(&dir.join(&file), bytes)?;
    Ok(file)
}

fn write_compressed(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes)?;
    fs::write(with_suffix(path, "br"), brotli(bytes))?;
    fs::write(with_suffix(path, "gz"), gzip(bytes))?;
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

pub fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        std::io::Write::write_all(&mut writer, bytes).expect("writing to memory");
    }
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            write_compressed(&dest, &fs::read(entry.path())?)?;
        }
    }
    Ok(())
}
