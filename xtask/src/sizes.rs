//! Measured widget payload: every file a host page loads, raw and compressed.

use std::fs;
use std::path::Path;

use anyhow::Result;

use crate::widget::{brotli, gzip};

pub fn print(site: &Path) -> Result<()> {
    let mut files = vec![site.join("widget.js")];
    let mut assets: Vec<_> = fs::read_dir(site.join("w"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "js" || e == "wasm" || e == "css" || e == "html")
        })
        .collect();
    assets.sort();
    files.extend(assets);
    println!("\nwidget payload (what a host page loads):");
    println!(
        "{:<40} {:>10} {:>10} {:>10}",
        "file", "raw", "gzip -9", "brotli 11"
    );
    let (mut raw_total, mut gz_total, mut br_total) = (0, 0, 0);
    for file in &files {
        let bytes = fs::read(file)?;
        let (raw, gz, br) = (bytes.len(), gzip(&bytes).len(), brotli(&bytes).len());
        raw_total += raw;
        gz_total += gz;
        br_total += br;
        let name = file
            .strip_prefix(site)
            .unwrap_or(file)
            .display()
            .to_string();
        println!("{name:<40} {raw:>10} {gz:>10} {br:>10}");
    }
    println!(
        "{:<40} {raw_total:>10} {gz_total:>10} {br_total:>10}",
        "total"
    );
    Ok(())
}
