//! Attachments in a real browser: the customer picks a picture and pastes a
//! file into a reply, sees the picture as a thumbnail, a file of a refused
//! kind is said so; the agent sees both in the console, attaches a PDF there,
//! and the customer gets it live.

use anyhow::{ensure, Result};
use fantoccini::Locator;
use stufe_e2e::{finish, Browser, HostSite, Stufe};

/// A valid 1×1 PNG.
const PNG: [u8; 70] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x64, 0xF8, 0xCF, 0x50,
    0x0F, 0x00, 0x03, 0x86, 0x01, 0x80, 0x5A, 0x34, 0x7D, 0x6B, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_and_agent_exchange_files_shown_as_thumbnails_and_downloads() -> Result<()> {
    let stufe = Stufe::start().await?;
    let browser = Browser::launch().await?;
    let files = tempfile::tempdir()?;
    let picture = files.path().join("error-screen.png");
    std::fs::write(&picture, PNG)?;
    let invoice = files.path().join("invoice.pdf");
    std::fs::write(&invoice, PDF)?;
    let program = files.path().join("photo.png");
    std::fs::write(&program, [b"MZ\x90\0".as_slice(), &[0; 200]].concat())?;
    let result = async {
        let c = &browser.client;
        c.goto(&stufe.demo_url()).await?;
        browser.open_widget().await?;
        browser
            .submit_ticket("Screen goes black", "See the picture.")
            .await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        let id = browser.ticket_id("Screen goes black").await?;
        browser.click(&format!("[data-ticket-id='{id}']")).await?;

        // A picture picked with the file chooser: uploaded, then sent with the text.
        browser
            .wait_for(Locator::Css("[data-testid=attach-input]"))
            .await?
            .send_keys(&picture.display().to_string())
            .await?;
        browser
            .wait_script("return !!document.querySelector('[data-testid=chosen-file][data-state=ready]');")
            .await?;
        c.find(Locator::Css("[data-testid=reply-body]"))
            .await?
            .send_keys("This is what I see.")
            .await?;
        browser.click("[data-testid=reply-send]").await?;
        // Shown as a thumbnail that loaded (a blob of the stored file).
        browser
            .wait_script(
                "const img = document.querySelector('[data-testid=attachment-thumbnail]');
                 return !!img && img.complete && img.naturalWidth === 1 && img.src.startsWith('blob:');",
            )
            .await?;
        ensure!(
            c.execute("return document.querySelectorAll('[data-testid=chosen-file]').length;", vec![])
                .await?
                == 0,
            "the sent files leave the reply box"
        );

        // A file pasted into the reply box, sent alone.
        c.execute(
            "const box = document.querySelector('[data-testid=reply-body]');
             const data = new DataTransfer();
             data.items.add(new File(['Order 1234, never arrived.\\n'], 'order.txt', {type: 'text/plain'}));
             box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
             return true;",
            vec![],
        )
        .await?;
        browser
            .wait_script("return !!document.querySelector('[data-testid=chosen-file][data-state=ready]');")
            .await?;
        browser.click("[data-testid=reply-send]").await?;
        browser
            .wait_script("return !!document.querySelector('[data-testid=attachment][data-type=\"text/plain\"]');")
            .await?;

        // A file dropped on the reply box.
        c.execute(
            "const form = document.querySelector('[data-testid=reply-body]').form;
             const data = new DataTransfer();
             data.items.add(new File(['%PDF-1.7\\n%%EOF\\n'], 'dropped.pdf', {type: 'application/pdf'}));
             form.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
             return true;",
            vec![],
        )
        .await?;
        browser
            .wait_script(
                "const chip = document.querySelector('[data-testid=chosen-file][data-state=ready]');
                 return !!chip && chip.textContent.includes('dropped.pdf');",
            )
            .await?;
        browser.click("[data-testid=reply-send]").await?;
        browser
            .wait_script("return !!document.querySelector('[data-testid=attachment][data-type=\"application/pdf\"]');")
            .await?;

        // A program named like a picture: refused, said so, nothing sent.
        c.find(Locator::Css("[data-testid=attach-input]"))
            .await?
            .send_keys(&program.display().to_string())
            .await?;
        browser
            .wait_script(
                "const chip = document.querySelector('[data-testid=chosen-file][data-state=refused]');
                 return !!chip && chip.textContent.includes('not accepted');",
            )
            .await?;
        browser.screenshot("attachments-1-widget").await;
        let ticket = stufe.staff_get(&format!("/api/staff/tickets/{id}")).await?;
        let messages = ticket["messages"].as_array().cloned().unwrap_or_default();
        ensure!(messages.len() == 3, "three messages: {ticket}");
        ensure!(messages[0]["files"][0]["type"] == "image/png", "{ticket}");

        // The agent sees both in the console and attaches a PDF.
        c.enter_parent_frame().await?;
        let customer = c.window().await?;
        let console = c.new_window(false).await?;
        c.switch_to_window(console.handle.clone()).await?;
        browser.console_login(&stufe).await?;
        c.goto(&stufe.api(&format!("/console/tickets/{id}"))).await?;
        browser
            .wait_script(
                "const links = document.querySelectorAll('[data-testid=console-file]');
                 const img = document.querySelector('[data-testid=console-file] img');
                 return links.length === 3 && !!img && img.complete && img.naturalWidth === 1;",
            )
            .await?;
        c.find(Locator::Css("[data-testid=console-attach]"))
            .await?
            .send_keys(&invoice.display().to_string())
            .await?;
        browser
            .wait_script("return !!document.querySelector('[data-testid=console-chosen-file][data-state=ready]');")
            .await?;
        browser.screenshot("attachments-2-console").await;
        browser.click("[data-testid=save-ticket]").await?;
        browser
            .wait_script(
                "return [...document.querySelectorAll('[data-testid=console-file]')]
                    .some(a => a.dataset.type === 'application/pdf' && a.textContent.includes('invoice.pdf'));",
            )
            .await?;

        // The customer gets it live, as a download with its name.
        c.switch_to_window(customer).await?;
        browser.enter_widget_frame().await?;
        browser
            .wait_script(
                "const pdf = document.querySelector('[data-testid=message][data-author=staff] [data-testid=attachment][data-type=\"application/pdf\"]');
                 return !!pdf && pdf.textContent.includes('invoice.pdf');",
            )
            .await?;
        Ok(())
    }
    .await;
    finish(browser, &stufe, "attachments", result).await
}

/// The messages of a ticket, once it has any (at most 20 s).
async fn messages_of(stufe: &Stufe, id: &str) -> Result<Vec<serde_json::Value>> {
    let started = std::time::Instant::now();
    loop {
        let ticket = stufe.staff_get(&format!("/api/staff/tickets/{id}")).await?;
        let messages = ticket["messages"].as_array().cloned().unwrap_or_default();
        if !messages.is_empty() || started.elapsed() > std::time::Duration::from_secs(20) {
            return Ok(messages);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_chosen_offline_wait_on_the_device_and_are_sent_once_when_back() -> Result<()> {
    let mut stufe = Stufe::start().await?;
    // A host page of its own: it stays up while the Stufe server is down.
    let host = HostSite::start(&stufe).await?;
    let browser = Browser::launch().await?;
    let files = tempfile::tempdir()?;
    let picture = files.path().join("broken-part.png");
    std::fs::write(&picture, PNG)?;
    let receipt = files.path().join("receipt.pdf");
    std::fs::write(&receipt, PDF)?;
    let result = async {
        let c = &browser.client;
        c.goto(&host.url()).await?;
        browser.open_widget().await?;
        browser
            .submit_ticket("Part broke", "It came broken.")
            .await?;
        browser.wait_gone("[data-testid=ticket-waiting]").await?;
        let first = browser.ticket_id("Part broke").await?;
        browser
            .wait_script("return navigator.serviceWorker.controller !== null;")
            .await?;

        stufe.stop().await?;
        browser
            .wait_for(Locator::Css("[data-testid=connection][data-online=false]"))
            .await?;

        // Offline, a reply with a picture: kept on the device, shown as waiting.
        browser
            .click(&format!("[data-ticket-id='{first}']"))
            .await?;
        browser
            .wait_for(Locator::Css("[data-testid=attach-input]"))
            .await?
            .send_keys(&picture.display().to_string())
            .await?;
        browser
            .wait_script(
                "return !!document.querySelector('[data-testid=chosen-file][data-state=waiting]');",
            )
            .await?;
        c.find(Locator::Css("[data-testid=reply-body]"))
            .await?
            .send_keys("Photo of the part.")
            .await?;
        browser.click("[data-testid=reply-send]").await?;
        browser
            .wait_script(
                "const w = document.querySelector('[data-testid=message-waiting-files]');
                 return !!w && w.textContent.includes('broken-part.png');",
            )
            .await?;

        // Offline, a new request with a file.
        browser.click("[data-testid=new-ticket-tab]").await?;
        browser
            .wait_for(Locator::Css("[data-testid=attach-input]"))
            .await?
            .send_keys(&receipt.display().to_string())
            .await?;
        browser
            .wait_script(
                "return !!document.querySelector('[data-testid=chosen-file][data-state=waiting]');",
            )
            .await?;
        browser
            .submit_ticket("Refund please", "Receipt attached.")
            .await?;
        let second = browser.ticket_id("Refund please").await?;

        // A reload while still offline keeps both waiting.
        c.refresh().await?;
        browser.open_widget().await?;
        browser
            .click(&format!("[data-ticket-id='{first}']"))
            .await?;
        browser
            .wait_for(Locator::Css("[data-testid=message-waiting-files]"))
            .await?;

        // Back online: each goes once, files first, then the message.
        stufe.restart().await?;
        browser
            .wait_for(Locator::Css("[data-testid=connection][data-online=true]"))
            .await?;
        browser
            .wait_script(
                "return !document.querySelector('[data-testid=message-waiting-files]')
                    && !!document.querySelector('[data-testid=attachment-thumbnail]');",
            )
            .await?;
        let replies = messages_of(&stufe, &first).await?;
        ensure!(replies.len() == 1, "the reply arrived once: {replies:?}");
        ensure!(replies[0]["body"] == "Photo of the part.", "{replies:?}");
        ensure!(replies[0]["files"][0]["type"] == "image/png", "{replies:?}");
        let opened = messages_of(&stufe, &second).await?;
        ensure!(
            opened.len() == 1,
            "the new request's files arrived once: {opened:?}"
        );
        ensure!(opened[0]["files"][0]["name"] == "receipt.pdf", "{opened:?}");
        // Nothing more goes after another reload.
        c.refresh().await?;
        browser.open_widget().await?;
        browser
            .click(&format!("[data-ticket-id='{first}']"))
            .await?;
        browser
            .wait_for(Locator::Css("[data-testid=attachment-thumbnail]"))
            .await?;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        ensure!(
            messages_of(&stufe, &first).await?.len() == 1,
            "not sent twice"
        );
        Ok(())
    }
    .await;
    finish(browser, &stufe, "attachments-offline", result).await
}
