//! The mail sender against a real SMTP server on 127.0.0.1: what `SmtpMailer` sends
//! arrives intact (envelope, subject, body, a link with a long query string), failures are
//! errors bounded by the timeout, and the test server speaks SMTP correctly.

use std::time::{Duration, Instant};

use auth_axum::auth_core::mail::{LogMailer, Mail, MailError, MailSender, SmtpMailer};
use auth_tests::smtp::SmtpServer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

fn long_link() -> String {
    let token: String = (0..160)
        .map(|i| {
            char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i % 64])
        })
        .collect();
    format!(
        "https://app.example.com/auth/password-reset/confirm?token={token}&user=42&next=%2Fhome%3Ftab%3D1"
    )
}

#[tokio::test]
async fn a_mail_arrives_intact() {
    let server = SmtpServer::start();
    let mailer = SmtpMailer::from_url(&server.url(), "Example App <noreply@example.com>").unwrap();
    let link = long_link();
    let subject = "Passwort zurücksetzen — ünïcødé ✓ 日本語";
    let text = format!(
        "Hallo Jürgen,\n\nfolge diesem Link, um dein Passwort zurückzusetzen:\n\n{link}\n\n\
         .a line that starts with a dot\n.\n..two dots\nGrüße, 日本語\n"
    );
    mailer
        .send(&Mail::new(
            "Alice <alice@example.com>",
            subject,
            text.clone(),
        ))
        .await
        .unwrap();

    let mail = server.next_mail().await;
    assert_eq!(mail.mail_from, "noreply@example.com");
    assert_eq!(mail.rcpt_to, ["alice@example.com"]);
    assert_eq!(mail.from_header().as_deref(), Some("noreply@example.com"));
    assert_eq!(mail.to_header(), ["alice@example.com"]);
    assert_eq!(mail.subject().as_deref(), Some(subject));
    assert_eq!(lf(&mail.text()), text);
    // The link went over the wire quoted-printable and soft-wrapped, not as written.
    assert!(
        mail.raw
            .contains("Content-Transfer-Encoding: quoted-printable"),
        "{}",
        mail.raw
    );
    assert!(!mail.raw.contains(&link), "{}", mail.raw);
    assert_eq!(mail.first_link(), Some(link));
    assert!(server.try_next_mail().is_none());
}

#[tokio::test]
async fn dot_stuffing_round_trips_in_a_7bit_body() {
    // Short ASCII lines go out as 7bit: the dots reach the wire as written, so the
    // client must stuff them and the server unstuff them. A lone "." would end DATA early.
    let server = SmtpServer::start();
    let mailer = SmtpMailer::from_url(&server.url(), "noreply@example.com").unwrap();
    let text = "first\n.\n.hidden\n..two\n...\nlast http://localhost:3000/verify?token=abc.\n";
    mailer
        .send(&Mail::new("bob@example.com", "Dots", text))
        .await
        .unwrap();
    let mail = server.next_mail().await;
    assert!(
        mail.raw.contains("Content-Transfer-Encoding: 7bit"),
        "{}",
        mail.raw
    );
    assert!(mail.raw.contains("\r\n.hidden\r\n"), "{}", mail.raw);
    assert_eq!(lf(&mail.text()), text);
    assert_eq!(
        mail.first_link().as_deref(),
        Some("http://localhost:3000/verify?token=abc")
    );
}

#[tokio::test]
async fn every_body_arrives_ending_with_one_line_break() {
    let server = SmtpServer::start();
    let mailer = SmtpMailer::from_url(&server.url(), "noreply@example.com").unwrap();
    let long = "ü".repeat(100);
    for (sent, received) in [
        ("no line break".to_owned(), "no line break\n".to_owned()),
        ("one\n".to_owned(), "one\n".to_owned()),
        ("two\n\n".to_owned(), "two\n\n".to_owned()),
        ("crlf\r\n".to_owned(), "crlf\n".to_owned()),
        (long.clone(), format!("{long}\n")),
        (format!("{long}\n"), format!("{long}\n")),
    ] {
        mailer
            .send(&Mail::new("a@example.com", "s", sent.clone()))
            .await
            .unwrap();
        let mail = server.next_mail().await;
        assert_eq!(
            lf(&mail.text()),
            received,
            "sent {sent:?}, raw:\n{}",
            mail.raw
        );
    }
}

#[tokio::test]
async fn mails_arrive_in_order_through_one_server() {
    let server = SmtpServer::start();
    let mailer = SmtpMailer::from_url(&server.url(), "noreply@example.com").unwrap();
    for i in 0..3 {
        mailer
            .send(&Mail::new(
                format!("u{i}@example.com"),
                format!("n{i}"),
                "x",
            ))
            .await
            .unwrap();
    }
    for i in 0..3 {
        let mail = server.next_mail().await;
        assert_eq!(mail.rcpt_to, [format!("u{i}@example.com")]);
        assert_eq!(mail.subject(), Some(format!("n{i}")));
        assert_eq!(mail.first_link(), None);
    }
}

#[tokio::test]
async fn a_closed_port_is_an_error_within_the_timeout() {
    let closed = auth_tests::ClosedPort::bind();
    let port = closed.port();
    let timeout = Duration::from_secs(5);
    let mailer = SmtpMailer::from_url_with_timeout(
        &format!("smtp://127.0.0.1:{port}"),
        "a@example.com",
        timeout,
    )
    .unwrap();
    let started = Instant::now();
    let err = mailer
        .send(&Mail::new("b@example.com", "s", "SECRET-TOKEN"))
        .await
        .unwrap_err();
    assert!(started.elapsed() < timeout + Duration::from_secs(1));
    assert!(
        matches!(err, MailError::Transport(_) | MailError::Timeout(_)),
        "{err:?}"
    );
    assert!(!err.to_string().contains("SECRET-TOKEN"));
}

#[tokio::test]
async fn a_bad_sender_is_refused_at_construction() {
    let server = SmtpServer::start();
    for from in [
        "",
        "no-at-sign",
        "a@",
        "two@@example.com",
        "a b@example.com",
    ] {
        let err = SmtpMailer::from_url(&server.url(), from).unwrap_err();
        assert!(
            matches!(err, MailError::InvalidAddress { role: "from", .. }),
            "{from:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_bad_recipient_is_an_error_and_nothing_is_sent() {
    let server = SmtpServer::start();
    let mailer = SmtpMailer::from_url(&server.url(), "noreply@example.com").unwrap();
    let err = mailer
        .send(&Mail::new("not an address", "s", "t"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, MailError::InvalidAddress { role: "to", .. }),
        "{err:?}"
    );
    assert!(server.try_next_mail().is_none());
}

#[tokio::test]
async fn the_log_mailer_returns_ok() {
    let mailer = LogMailer::new();
    mailer
        .send(&Mail::new("a@example.com", "s", "token=abc"))
        .await
        .unwrap();
}

/// Speaks SMTP by hand to the test server: RSET drops the envelope, NOOP is accepted,
/// dot-stuffed lines are unstuffed, QUIT closes.
#[tokio::test]
async fn the_test_server_speaks_smtp() {
    let server = SmtpServer::start();
    let stream = TcpStream::connect(server.addr()).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);

    async fn reply(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> u16 {
        loop {
            let mut line = String::new();
            read.read_line(&mut line).await.unwrap();
            assert!(line.len() >= 4, "short reply {line:?}");
            if line.as_bytes()[3] == b' ' {
                return line[..3].parse().unwrap();
            }
        }
    }

    assert_eq!(reply(&mut read).await, 220);
    for (command, code) in [
        ("EHLO client.example.com", 250),
        ("MAIL FROM:<dropped@example.com>", 250),
        ("RCPT TO:<dropped@example.com>", 250),
        ("RSET", 250),
        ("NOOP", 250),
        ("HELO client.example.com", 250),
        ("MAIL FROM:<kept@example.com>", 250),
        ("RCPT TO:<one@example.com>", 250),
        ("RCPT TO:<two@example.com>", 250),
        ("DATA", 354),
    ] {
        write
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .unwrap();
        assert_eq!(reply(&mut read).await, code, "{command}");
    }
    write
        .write_all(b"Subject: hand made\r\n\r\n..stuffed\r\n...\r\nplain\r\n.\r\n")
        .await
        .unwrap();
    assert_eq!(reply(&mut read).await, 250);
    write.write_all(b"QUIT\r\n").await.unwrap();
    assert_eq!(reply(&mut read).await, 221);

    let mail = server.next_mail().await;
    assert_eq!(mail.mail_from, "kept@example.com");
    assert_eq!(mail.rcpt_to, ["one@example.com", "two@example.com"]);
    assert_eq!(
        mail.raw,
        "Subject: hand made\r\n\r\n.stuffed\r\n..\r\nplain\r\n"
    );
    assert_eq!(mail.subject().as_deref(), Some("hand made"));
}
