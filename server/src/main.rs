//! `stufe-server`: config -> telemetry -> run. Stops gracefully on Ctrl-C or SIGTERM.

use anyhow::Context;
use stufe_server::Config;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn")),
        )
        .init();
    let config = Config::from_env();
    let addr = Config::addr_from_env();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let token_file = config.data_dir.join("demo-staff-token");
    let shutdown = CancellationToken::new();
    let (started, serve) = stufe_server::start(listener, config, shutdown.clone()).await?;
    if let Some(token) = &started.seeded_staff_token {
        std::fs::write(&token_file, token).context("cannot write the demo staff token")?;
    }
    let staff_token =
        std::fs::read_to_string(&token_file).unwrap_or_else(|_| "(see your staff accounts)".into());
    let port = local.port();
    println!(
        "\nStufe is running.\n  demo host page : http://localhost:{port}/demo\n  site config    : http://127.0.0.1:{port}/api/sites/demo/config\n  staff console  : http://127.0.0.1:{port}/console  (login `sam` (admin) or `tia` (tier 1); password: STUFE_DEMO_STAFF_PASSWORD, default `stufe-demo`)\n  staff API      : http://127.0.0.1:{port}/api/staff/tickets  (Authorization: Bearer {token})\n  staff token in : {file}\nStop with Ctrl-C.\n",
        token = staff_token.trim(),
        file = token_file.display(),
    );
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    serve.await?;
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("can listen for SIGTERM");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
