//! Outgoing mail (SPEC C8.4): the [`MailSender`] trait through which password-reset and
//! e-mail-verification mails leave the application, with two implementations:
//!
//! - [`SmtpMailer`]: delivers through an SMTP server named by a URL (`smtp://`, STARTTLS
//!   with `?tls=required`, implicit TLS with `smtps://`, optional credentials in the URL).
//!   Only with the `mail` Cargo feature (on by default), which brings in lettre.
//! - [`LogMailer`]: writes each mail, body included, to the log. Development only.
//!
//! Mail bodies carry single-use tokens: neither [`Mail`]'s `Debug` nor any [`MailError`]
//! shows the body.

pub use crate::error::MailError;

pub mod account;

use std::fmt;
use std::sync::Arc;
#[cfg(feature = "mail")]
use std::time::Duration;

#[cfg(feature = "mail")]
use lettre::message::header::{ContentTransferEncoding, ContentType};
#[cfg(feature = "mail")]
use lettre::message::{Body, Mailbox, Message};
#[cfg(feature = "mail")]
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::backend::BoxFuture;

/// One outgoing mail: a single recipient, a subject and a plain-text body.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient address, e.g. `alice@example.com` or `Alice <alice@example.com>`.
    pub to: String,
    /// The subject line (any Unicode; encoded on the wire as needed).
    pub subject: String,
    /// The plain-text body. It may carry single-use tokens: it is never shown by `Debug`.
    pub text: String,
}

impl Mail {
    /// A mail to `to` with the given subject and plain-text body.
    pub fn new(to: impl Into<String>, subject: impl Into<String>, text: impl Into<String>) -> Mail {
        Mail {
            to: to.into(),
            subject: subject.into(),
            text: text.into(),
        }
    }
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Sends [`Mail`]s. Implemented by [`SmtpMailer`] and [`LogMailer`]; an application may
/// provide its own (e.g. an HTTP mail API).
pub trait MailSender: Send + Sync + 'static {
    /// Sends one mail. `Ok` means the mail was handed over (to the SMTP server, the log…),
    /// not that it reached the recipient's mailbox.
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>>;
}

impl<T: MailSender + ?Sized> MailSender for Arc<T> {
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        (**self).send(mail)
    }
}

impl<T: MailSender + ?Sized> MailSender for Box<T> {
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        (**self).send(mail)
    }
}

#[cfg(feature = "mail")]
fn parse_mailbox(role: &'static str, address: &str) -> Result<Mailbox, MailError> {
    address
        .parse::<Mailbox>()
        .map_err(|e| MailError::InvalidAddress {
            role,
            address: address.to_owned(),
            reason: e.to_string(),
        })
}

/// Delivers mail through an SMTP server (lettre, on tokio; TLS through rustls).
///
/// Built from a URL:
///
/// | URL | connection |
/// | --- | --- |
/// | `smtp://host:port` | plain text, no TLS (local relays, development; port 25 by default) |
/// | `smtp://host:port?tls=required` | STARTTLS, refused if the server does not offer it (port 587 by default) |
/// | `smtp://host:port?tls=opportunistic` | STARTTLS when offered, plain text otherwise |
/// | `smtps://host:port` | implicit TLS from the first byte (port 465 by default) |
///
/// Credentials go in the URL, percent-encoded: `smtps://user:p%40ss@smtp.example.com`.
/// A path names the EHLO name: `smtp://relay:25/app.example.com`. TLS certificates are
/// checked against the Mozilla root store (`webpki-roots`).
///
/// One connection is opened per mail. Each delivery is bounded by a timeout
/// ([`SmtpMailer::DEFAULT_TIMEOUT`] unless set with [`SmtpMailer::from_url_with_timeout`]).
///
/// Only with the `mail` Cargo feature (on by default).
#[cfg(feature = "mail")]
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

#[cfg(feature = "mail")]
impl fmt::Debug for SmtpMailer {
    // The transport holds the credentials: show neither.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "mail")]
impl SmtpMailer {
    /// The bound on one delivery (connect, TLS, authentication, transfer) unless set
    /// otherwise: 30 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A mailer for the SMTP server `url` (see the type's docs for the forms), sending as
    /// `from` (`noreply@example.com` or `Example <noreply@example.com>`).
    ///
    /// Both are checked here, once: a bad URL or sender address is an error at start-up,
    /// not at the first mail. Nothing is connected yet.
    pub fn from_url(url: &str, from: &str) -> Result<SmtpMailer, MailError> {
        SmtpMailer::from_url_with_timeout(url, from, SmtpMailer::DEFAULT_TIMEOUT)
    }

    /// As [`SmtpMailer::from_url`], with `timeout` bounding each delivery.
    pub fn from_url_with_timeout(
        url: &str,
        from: &str,
        timeout: Duration,
    ) -> Result<SmtpMailer, MailError> {
        let from = parse_mailbox("from", from)?;
        // lettre's own errors about a URL name neither the URL nor its password.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::InvalidUrl(e.to_string()))?
            .timeout(Some(timeout))
            .build();
        Ok(SmtpMailer {
            transport,
            from,
            timeout,
        })
    }

    /// The sender address every mail goes out with.
    pub fn from_address(&self) -> &Mailbox {
        &self.from
    }

    /// The bound on one delivery.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn message(&self, mail: &Mail) -> Result<Message, MailError> {
        let to = parse_mailbox("to", &mail.to)?;
        if mail.subject.contains(['\r', '\n']) {
            return Err(MailError::InvalidMessage(
                "the subject contains a line break".into(),
            ));
        }
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(wire_body(&mail.text))
            .map_err(|e| MailError::InvalidMessage(e.to_string()))
    }
}

/// The body as handed to lettre: 7bit when the text allows it, quoted-printable otherwise
/// (never base64, so every body reads the same way on arrival and stays legible in raw
/// form; long lines such as links are soft-wrapped and restored exactly by the reader).
///
/// SMTP ends the message data with `CRLF . CRLF` right after the body, which itself ends
/// the last line: a text that already ends with a line break would gain an empty line. One
/// trailing line break is dropped here, so every mail arrives ending with exactly one.
#[cfg(feature = "mail")]
fn wire_body(text: &str) -> Body {
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    Body::new_with_encoding(text.to_owned(), ContentTransferEncoding::SevenBit).unwrap_or_else(
        |_| {
            Body::new_with_encoding(text.to_owned(), ContentTransferEncoding::QuotedPrintable)
                .unwrap_or_else(|_| Body::new(text.to_owned()))
        },
    )
}

#[cfg(feature = "mail")]
impl MailSender for SmtpMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            let message = self.message(mail)?;
            match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
                Ok(Ok(_response)) => Ok(()),
                Ok(Err(e)) if e.is_timeout() => Err(MailError::Timeout(self.timeout)),
                Ok(Err(e)) => Err(MailError::Transport(e.to_string())),
                Err(_elapsed) => Err(MailError::Timeout(self.timeout)),
            }
        })
    }
}

/// Writes each mail to the log instead of sending it: **for development only**.
///
/// **It logs the whole mail, body included, and bodies carry single-use tokens (password
/// reset, e-mail verification links): anyone who can read the log can take over the
/// account.** Never use it in production. Constructing one logs a warning saying so.
///
/// Mails are logged through `tracing` at `info` level, target `auth::mail`.
#[derive(Debug)]
pub struct LogMailer {
    _private: (),
}

impl LogMailer {
    /// A log mailer. Logs a warning (target `auth::mail`) that mail bodies, with their
    /// tokens, will be written to the log.
    pub fn new() -> LogMailer {
        tracing::warn!(
            target: "auth::mail",
            "LogMailer in use: mails are written to the log with their single-use tokens, \
             not sent. For development only: never use it in production."
        );
        LogMailer { _private: () }
    }
}

impl Default for LogMailer {
    fn default() -> Self {
        LogMailer::new()
    }
}

impl MailSender for LogMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            tracing::info!(
                target: "auth::mail",
                to = %mail.to,
                subject = %mail.subject,
                "mail (not sent, LogMailer):\n{}",
                mail.text
            );
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_body() {
        let mail = Mail::new("a@example.com", "Reset", "token=SECRET-TOKEN");
        let shown = format!("{mail:?}");
        assert!(shown.contains("a@example.com"), "{shown}");
        assert!(shown.contains("Reset"), "{shown}");
        assert!(!shown.contains("SECRET-TOKEN"), "{shown}");
        assert!(!format!("{mail:#?}").contains("SECRET-TOKEN"));
    }

    #[cfg(feature = "mail")]
    #[test]
    fn urls_are_checked_at_construction() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://relay.example.com",
            "smtp://relay.example.com:587?tls=required",
            "smtp://relay.example.com:587?tls=opportunistic",
            "smtps://user:p%40ss@smtp.example.com",
            "smtps://smtp.example.com:465/ehlo.example.com",
        ] {
            SmtpMailer::from_url(url, "noreply@example.com")
                .unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        for url in [
            "",
            "not a url",
            "http://smtp.example.com",
            "smtp://relay.example.com?tls=sometimes",
            "smtp:///no-host",
        ] {
            let err = SmtpMailer::from_url(url, "noreply@example.com").unwrap_err();
            assert!(matches!(err, MailError::InvalidUrl(_)), "{url}: {err:?}");
        }
    }

    #[cfg(feature = "mail")]
    #[test]
    fn errors_do_not_show_the_password() {
        let err = SmtpMailer::from_url("smtpx://user:hunter2@smtp.example.com", "a@example.com")
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let mailer =
            SmtpMailer::from_url("smtps://user:hunter2@smtp.example.com", "a@example.com").unwrap();
        assert!(!format!("{mailer:?}").contains("hunter2"));
    }

    #[cfg(feature = "mail")]
    #[test]
    fn the_sender_is_checked_at_construction() {
        let err = SmtpMailer::from_url("smtp://127.0.0.1:25", "not an address").unwrap_err();
        assert!(
            matches!(err, MailError::InvalidAddress { role: "from", .. }),
            "{err:?}"
        );
        let mailer =
            SmtpMailer::from_url("smtp://127.0.0.1:25", "Example <noreply@example.com>").unwrap();
        assert_eq!(
            mailer.from_address().email.to_string(),
            "noreply@example.com"
        );
        assert_eq!(mailer.timeout(), SmtpMailer::DEFAULT_TIMEOUT);
    }

    #[cfg(feature = "mail")]
    #[tokio::test]
    async fn bad_recipients_and_subjects_are_refused_before_connecting() {
        // Never reached: the mail is refused while being built.
        let mailer = SmtpMailer::from_url("smtp://127.0.0.1:9", "a@example.com").unwrap();
        let err = mailer
            .send(&Mail::new("nobody", "s", "SECRET-TOKEN"))
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::InvalidAddress { role: "to", .. }));
        assert!(!err.to_string().contains("SECRET-TOKEN"));
        let err = mailer
            .send(&Mail::new("b@example.com", "a\r\nBcc: x@example.com", "t"))
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::InvalidMessage(_)), "{err:?}");
    }

    #[tokio::test]
    async fn log_mailer_sends() {
        let mailer: Arc<dyn MailSender> = Arc::new(LogMailer::new());
        mailer
            .send(&Mail::new("a@example.com", "Hi", "body"))
            .await
            .unwrap();
    }
}
