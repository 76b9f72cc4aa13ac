//! Attachments over the real server: a customer uploads with the ticket's
//! token and refers to the file in a reply; staff see and download it and
//! attach their own; every limit and forged reference is refused and
//! changes nothing; downloads cannot act as pages.

use reqwest::StatusCode;
use serde_json::{json, Value};
use stufe_shared::ticket::{self, Author, FileRef};

use crate::helpers::*;

/// A small PNG (1×1, with an eXIf chunk holding "GPSLatitude").
fn png_with_location() -> Vec<u8> {
    fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let crc = {
            let mut crc = 0xFFFF_FFFFu32;
            for b in kind.iter().chain(data) {
                crc ^= u32::from(*b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        };
        [
            &u32::try_from(data.len()).unwrap().to_be_bytes()[..],
            kind,
            data,
            &crc.to_be_bytes(),
        ]
        .concat()
    }
    [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]),
        chunk(b"eXIf", b"MM\0*\0\0\0\x08GPSLatitude 52.52N"),
        chunk(
            b"IDAT",
            &[0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
        ),
        chunk(b"IEND", &[]),
    ]
    .concat()
}

async fn customer_upload(
    app: &TestApp,
    id: stufe_shared::TicketId,
    credential: Option<&str>,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(app.url(&format!("/api/sites/demo/tickets/{id}/files")))
        .query(&[("name", name)])
        .body(bytes);
    if let Some(credential) = credential {
        request = request.bearer_auth(credential);
    }
    request.send().await.unwrap()
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_customer_attaches_a_screenshot_and_staff_read_it_without_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let id = local.id;

    // Uploaded with the ticket's token: the reference names what the server found.
    let response = customer_upload(
        &app,
        id,
        Some(&token),
        "C:\\shots\\error.png",
        png_with_location(),
    )
    .await;
    assert_eq!(response.status(), 201);
    let file: FileRef = response.json().await.unwrap();
    assert_eq!(file.name, "error.png", "the name's path is dropped");
    assert_eq!(file.mime, "image/png");
    assert_eq!(file.hash.len(), 64);

    // The reply refers to it; the server takes it.
    let mut client = app.client().await;
    client.open(&mut local, &token).await;
    let message = customer_message("with-file", "Here is the error.");
    ticket::append_message_with_files(&mut local.doc, &message, std::slice::from_ref(&file))
        .unwrap();
    let frames = client.sync(&mut local).await;
    assert!(error_codes(&frames).is_empty(), "{frames:?}");
    assert!(last_ack(&frames).is_some(), "{frames:?}");

    // Staff see it in the ticket and download it, its location stripped.
    let seen = app.staff_ticket(id).await;
    assert_eq!(seen["messages"][0]["files"][0]["hash"], json!(file.hash));
    let download = reqwest::Client::new()
        .get(app.url(&format!("/api/staff/tickets/{id}/files/{}", file.hash)))
        .query(&[("name", "error.png")])
        .bearer_auth(STAFF_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let headers = download.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(
        headers["content-disposition"],
        "inline; filename*=UTF-8''error.png"
    );
    let bytes = download.bytes().await.unwrap();
    assert_eq!(i64::try_from(bytes.len()).unwrap(), file.size);
    assert!(
        !contains(&bytes, b"GPSLatitude"),
        "location metadata removed"
    );
    assert!(contains(&bytes, b"IHDR"), "the picture is kept");

    // The customer downloads it with the token; a wrong token reads nothing.
    let url = app.url(&format!("/api/sites/demo/tickets/{id}/files/{}", file.hash));
    let own = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    assert_eq!(own.bytes().await.unwrap(), bytes);
    let other = reqwest::Client::new()
        .get(&url)
        .bearer_auth("ab".repeat(32))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn staff_attach_a_pdf_that_is_served_as_a_download_to_the_customer() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut local, token) = create_ticket(&app).await;
    let id = local.id;
    let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
    let uploaded = reqwest::Client::new()
        .post(app.url(&format!("/api/staff/tickets/{id}/files")))
        .query(&[("name", "Rechnung März.pdf")])
        .bearer_auth(STAFF_TOKEN)
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let file: Value = uploaded.json().await.unwrap();
    assert_eq!(file["type"], "application/pdf");
    let reply = app
        .staff_send(
            reqwest::Method::POST,
            &format!("/api/staff/tickets/{id}/messages"),
            &json!({"body": "", "files": [file.clone()]}),
        )
        .await;
    assert_eq!(reply.status(), 200, "{:?}", reply.text().await);

    // The customer's widget gets the reference live, and downloads the file.
    let mut client = app.client().await;
    client.open(&mut local, &token).await;
    client
        .sync_until(&mut local, |t| !t.messages.is_empty())
        .await;
    let got = read(&local.doc);
    assert_eq!(got.messages[0].author, Author::Staff);
    assert_eq!(got.messages[0].files[0].name, "Rechnung März.pdf");
    let download = reqwest::Client::new()
        .get(app.url(&format!(
            "/api/sites/demo/tickets/{id}/files/{}",
            file["hash"].as_str().unwrap()
        )))
        .query(&[("name", "Rechnung März.pdf")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        download.headers()["content-disposition"],
        "attachment; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"
    );
    assert_eq!(download.bytes().await.unwrap().to_vec(), pdf);

    // A reply naming a file not uploaded for this ticket: refused, nothing sent.
    let forged = app
        .staff_send(
            reqwest::Method::POST,
            &format!("/api/staff/tickets/{id}/messages"),
            &json!({"body": "see", "files": [{"hash": "cd".repeat(32), "name": "x.pdf", "type": "application/pdf", "size": 10}]}),
        )
        .await;
    assert_eq!(forged.status(), 400);
    assert_eq!(
        app.staff_ticket(id).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn uploads_past_a_limit_or_without_the_right_token_are_refused_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (local, token) = create_ticket(&app).await;
    let id = local.id;
    let text = b"Order 1234\n".to_vec();

    // No token, a wrong token, an unknown ticket, another site's path.
    assert_eq!(
        customer_upload(&app, id, None, "a.txt", text.clone())
            .await
            .status(),
        401
    );
    let (status, why) =
        error_of(customer_upload(&app, id, Some(&"ab".repeat(32)), "a.txt", text.clone()).await)
            .await;
    assert_eq!(
        (status.as_u16(), why.as_str()),
        (403, "this token does not open this ticket")
    );
    let stranger = random_ticket().0;
    assert_eq!(
        customer_upload(&app, stranger, Some(&token), "a.txt", text.clone())
            .await
            .status(),
        404
    );

    // Not an accepted type, whatever its name says: 415.
    let exe = [b"MZ\x90\0".as_slice(), &[0; 200]].concat();
    let (status, why) =
        error_of(customer_upload(&app, id, Some(&token), "photo.png", exe).await).await;
    assert_eq!(status, 415, "{why}");
    assert!(why.contains("not accepted"), "{why}");
    // Empty, nameless, over 10 MiB.
    assert_eq!(
        customer_upload(&app, id, Some(&token), "a.txt", Vec::new())
            .await
            .status(),
        422
    );
    assert_eq!(
        customer_upload(&app, id, Some(&token), "", text.clone())
            .await
            .status(),
        400
    );
    let huge = vec![b'a'; stufe_shared::files::MAX_FILE_BYTES + 1];
    assert_eq!(
        customer_upload(&app, id, Some(&token), "big.txt", huge)
            .await
            .status(),
        413
    );

    // 50 MiB a ticket: five 10 MiB files fit, the sixth does not.
    for n in 0..5u8 {
        let mut file = vec![b'a' + n; stufe_shared::files::MAX_FILE_BYTES];
        file[0] = b'x';
        let response = customer_upload(&app, id, Some(&token), "part.txt", file).await;
        assert_eq!(response.status(), 201, "file {n}");
    }
    let (status, why) =
        error_of(customer_upload(&app, id, Some(&token), "more.txt", text.clone()).await).await;
    assert_eq!(status, 413);
    assert!(why.contains("50 MiB"), "{why}");
    // The same file again is no new byte: taken.
    let again = vec![b'a'; stufe_shared::files::MAX_FILE_BYTES];
    let mut again = again;
    again[0] = b'x';
    assert_eq!(
        customer_upload(&app, id, Some(&token), "part.txt", again)
            .await
            .status(),
        201
    );
    app.stop().await;
}

#[tokio::test]
async fn a_message_naming_a_file_not_uploaded_for_its_ticket_is_rejected_whole() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut mine, my_token) = create_ticket(&app).await;
    let (other, other_token) = create_ticket(&app).await;
    // A file uploaded for the other ticket.
    let uploaded = customer_upload(
        &app,
        other.id,
        Some(&other_token),
        "a.txt",
        b"secret\n".to_vec(),
    )
    .await;
    let theirs: FileRef = uploaded.json().await.unwrap();
    let mine_uploaded =
        customer_upload(&app, mine.id, Some(&my_token), "b.txt", b"mine\n".to_vec()).await;
    let my_file: FileRef = mine_uploaded.json().await.unwrap();

    let mut client = app.client().await;
    client.open(&mut mine, &my_token).await;
    let cases: Vec<(&str, FileRef)> = vec![
        ("another ticket's file", theirs.clone()),
        (
            "a made-up hash",
            FileRef {
                hash: "ef".repeat(32),
                ..my_file.clone()
            },
        ),
        (
            "a size that is not the upload's",
            FileRef {
                size: my_file.size + 1,
                ..my_file.clone()
            },
        ),
        (
            "a type that is not the upload's",
            FileRef {
                mime: "application/pdf".into(),
                ..my_file.clone()
            },
        ),
    ];
    for (what, file) in cases {
        let mut attempt = LocalDoc::new(mine.id, mine.doc.fork());
        let mut fresh = app.client().await;
        fresh.open(&mut attempt, &my_token).await;
        let message = customer_message("forged", "look");
        ticket::append_message_with_files(&mut attempt.doc, &message, &[file]).unwrap();
        let frames = fresh.sync(&mut attempt).await;
        assert_eq!(
            error_codes(&frames),
            vec!["rejected_change"],
            "{what}: {frames:?}"
        );
    }
    // Nothing of them was stored; the real file still goes.
    assert!(app.staff_ticket(mine.id).await["messages"]
        .as_array()
        .unwrap()
        .is_empty());
    let message = customer_message("real", "");
    ticket::append_message_with_files(&mut mine.doc, &message, &[my_file]).unwrap();
    let frames = client.sync(&mut mine).await;
    assert!(
        error_codes(&frames).is_empty(),
        "a message of files alone is taken: {frames:?}"
    );
    assert_eq!(
        app.staff_ticket(mine.id).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}
