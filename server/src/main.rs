//! `stufe-server`: config -> telemetry -> run. Stops gracefully on Ctrl-C or SIGTERM.
//! `stufe-server site create …` creates a site in the database instead.

use anyhow::Context;
use clap::{Parser, Subcommand};
use stufe_server::Config;
use stufe_shared::site::Category;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    about = "Stufe's sync server. Without a command it serves (settings: STUFE_* environment)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Sites (written to the database in STUFE_DATA; the server may be running).
    #[command(subcommand)]
    Site(SiteCommand),
}

#[derive(Subcommand)]
enum SiteCommand {
    /// Creates a site and prints the tag to paste and its identity secret.
    Create {
        /// The site's key, used in the tag: 1–64 of a-z 0-9 - _.
        #[arg(long)]
        key: String,
        /// Shown in the widget's header.
        #[arg(long)]
        name: String,
        /// A page origin that may show the widget (repeat for more), e.g. https://shop.example.
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// Brand colour, #rrggbb.
        #[arg(long, default_value = "#0b5fff")]
        color: String,
        /// The widget's default language: en or de.
        #[arg(long, default_value = "en")]
        locale: String,
        /// A ticket category as id:English:Deutsch (repeat for more; default: general, technical, billing).
        #[arg(long = "category")]
        categories: Vec<String>,
        /// Customers must be signed in by the site to file tickets.
        #[arg(long)]
        identity_required: bool,
    },
}

fn create_site(config: &Config, command: SiteCommand) -> anyhow::Result<()> {
    let SiteCommand::Create {
        key,
        name,
        origins,
        color,
        locale,
        categories,
        identity_required,
    } = command;
    let mut site = stufe_server::seed::demo_site();
    site.name = name;
    site.brand_color = color;
    site.locale = locale;
    site.allowed_origins = origins;
    site.identity_required = identity_required;
    if !categories.is_empty() {
        site.categories = categories
            .iter()
            .map(
                |text| match text.split(':').collect::<Vec<_>>().as_slice() {
                    [id, en, de] => Ok(Category {
                        id: (*id).into(),
                        label_en: (*en).into(),
                        label_de: (*de).into(),
                        tier: None,
                        priority: None,
                    }),
                    _ => anyhow::bail!("--category {text:?}: write id:English:Deutsch"),
                },
            )
            .collect::<anyhow::Result<_>>()?;
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let storage = stufe_server::storage::open(
        config.database_url.as_deref(),
        &config.data_dir.join("stufe.sqlite"),
    )?;
    let (key, secret) = stufe_server::sites::create(storage.as_ref(), &key, &site)?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", Config::addr_from_env()));
    println!(
        "Created the site \"{key}\".\n\nPaste this tag into every page that should show the widget:\n  {}\n\nIdentity secret (shown only now; sign customers' JWTs with it):\n  {secret}",
        stufe_server::sites::embed_tag(&public_url, &key, &site)
    );
    if site.allowed_origins.is_empty() {
        println!(
            "\nNo --origin given: no page may embed the widget until you add one in the console."
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Site(command)) = cli.command {
        // Storage calls block (off the async runtime's threads).
        let created =
            tokio::task::spawn_blocking(move || create_site(&Config::from_env(), command)).await?;
        if let Err(err) = created {
            eprintln!("error: {err}");
            std::process::exit(2);
        }
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn")),
        )
        .with_writer(stufe_server::log_lines::OneLinePerEvent)
        .init();
    stufe_server::panic_guard::install_hook();
    let config = Config::from_env();
    let addr = Config::addr_from_env();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let token_file = config.data_dir.join("demo-staff-token");
    let email = match &config.smtp_url {
        Some(url) => format!("sent through {}", url.split('@').next_back().unwrap_or(url)),
        None => "off (set STUFE_SMTP_URL)".into(),
    };
    let shutdown = CancellationToken::new();
    let (started, serve) = stufe_server::start(listener, config, shutdown.clone()).await?;
    if let Some(token) = &started.seeded_staff_token {
        std::fs::write(&token_file, token).context("cannot write the demo staff token")?;
    }
    let answers = match started.inbound_smtp {
        Some(addr) => format!("taken by SMTP on {addr} (the Reply-To of each email)"),
        None => "off (set STUFE_INBOUND_SMTP_ADDR and STUFE_MAIL_REPLY_DOMAIN)".into(),
    };
    let staff_token =
        std::fs::read_to_string(&token_file).unwrap_or_else(|_| "(see your staff accounts)".into());
    let port = local.port();
    println!(
        "\nStufe is running.\n  demo host page : http://localhost:{port}/demo\n  site config    : http://127.0.0.1:{port}/api/sites/demo/config\n  staff console  : http://127.0.0.1:{port}/console  (login `sam` (admin) or `tia` (tier 1); password: STUFE_DEMO_STAFF_PASSWORD, default `stufe-demo`)\n  staff API      : http://127.0.0.1:{port}/api/staff/tickets  (Authorization: Bearer {token})\n  staff token in : {file}\n  customer email : {email}\n  email answers  : {answers}\nStop with Ctrl-C.\n",
        token = staff_token.trim(),
        file = token_file.display(),
        email = email,
        answers = answers,
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

/// jemalloc instead of glibc's malloc: with many open widgets, memory freed
/// after their tickets went to sleep stayed with the process under glibc
/// (one arena per thread, pages freed in the middle kept); jemalloc's
/// background thread hands pages unused for a second back to the system
/// (settings in `.cargo/config.toml`). Measured with
/// `cargo bench -p stufe-server --bench connections` (docs/deployment.md).
/// Without the `jemalloc` feature, glibc's (for heap profilers such as heaptrack).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
