//! A real SMTP server on 127.0.0.1 for the tests that send mail (password reset, e-mail
//! verification): point the application's `SmtpMailer` at [`SmtpServer::url`], then read
//! what it delivered with [`SmtpServer::next_mail`] and follow the link in it.
//!
//! The protocol (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, VRFY, QUIT)
//! is the `mailin` crate's state machine; this module only drives it over tokio sockets and
//! hands every accepted message to the test through a channel. Delivered messages are
//! decoded (MIME, quoted-printable, base64, encoded words) with `mail-parser`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mailin::{Action, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

/// How long [`SmtpServer::next_mail`] waits before failing the test.
pub const MAIL_WAIT: Duration = Duration::from_secs(10);

/// Longest command or data line accepted (RFC 5321 asks for 1000 octets; generous here).
const MAX_LINE: u64 = 64 * 1024;

/// An SMTP server listening on 127.0.0.1 on an ephemeral port, for as long as it lives
/// (dropping it stops accepting and ends its sessions).
pub struct SmtpServer {
    addr: SocketAddr,
    mails: Mutex<mpsc::UnboundedReceiver<ReceivedMail>>,
    accept: JoinHandle<()>,
}

/// One message the server accepted: the envelope and the message as transferred.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`), in order, without angle brackets.
    pub rcpt_to: Vec<String>,
    /// The message (headers and body) after dot-unstuffing, CRLF line ends kept.
    pub raw: String,
}

impl SmtpServer {
    /// Starts a server on `127.0.0.1:0`, serving in a task of the current tokio runtime
    /// (call it from inside a `#[tokio::test]`).
    pub fn start() -> SmtpServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let listener = TcpListener::from_std(listener).expect("tokio listener (in a runtime?)");
        let (tx, rx) = mpsc::unbounded_channel();
        let accept = tokio::spawn(accept_loop(listener, tx));
        SmtpServer {
            addr,
            mails: Mutex::new(rx),
            accept,
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:<port>`: plain SMTP, as `SmtpMailer::from_url` takes it.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The next delivered message, in delivery order. Waits for it (on a channel, not by
    /// polling) up to [`MAIL_WAIT`], then panics saying no mail came.
    pub async fn next_mail(&self) -> ReceivedMail {
        let mut mails = self.mails.lock().await;
        match tokio::time::timeout(MAIL_WAIT, mails.recv()).await {
            Ok(Some(mail)) => mail,
            Ok(None) => panic!("the test SMTP server on {} stopped", self.addr),
            Err(_) => panic!(
                "no mail reached the test SMTP server on {} within {MAIL_WAIT:?}",
                self.addr
            ),
        }
    }

    /// A message already delivered and not yet taken, if any; does not wait. After the
    /// request that would have sent a mail has completed, `None` shows that none was sent.
    pub fn try_next_mail(&self) -> Option<ReceivedMail> {
        self.mails.try_lock().ok()?.try_recv().ok()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl ReceivedMail {
    /// The message parsed (headers, MIME parts, decoded bodies).
    ///
    /// # Panics
    /// When the delivered bytes are not a message at all.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.raw.as_bytes())
            .unwrap_or_else(|| panic!("not a mail message:\n{}", self.raw))
    }

    /// The decoded `Subject` header.
    pub fn subject(&self) -> Option<String> {
        self.parsed().subject().map(str::to_owned)
    }

    /// The decoded `From` header address (`addr@example.com`, without display name).
    pub fn from_header(&self) -> Option<String> {
        let parsed = self.parsed();
        let address = parsed.from()?.first()?.address()?;
        Some(address.to_owned())
    }

    /// The decoded `To` header addresses.
    pub fn to_header(&self) -> Vec<String> {
        let parsed = self.parsed();
        parsed
            .to()
            .map(|to| {
                to.iter()
                    .filter_map(|a| a.address().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The decoded plain-text body (transfer encoding and charset undone); empty when the
    /// message has no text part.
    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    /// The first `http://` or `https://` URL in the decoded text, as written (query string
    /// included, surrounding punctuation excluded).
    pub fn first_link(&self) -> Option<String> {
        let text = self.text();
        let mut finder = linkify::LinkFinder::new();
        finder.kinds(&[linkify::LinkKind::Url]);
        finder
            .links(&text)
            .map(|link| link.as_str().to_owned())
            .find(|link| link.starts_with("http://") || link.starts_with("https://"))
    }
}

async fn accept_loop(listener: TcpListener, tx: mpsc::UnboundedSender<ReceivedMail>) {
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        // Dropping the JoinSet (when this task is aborted) aborts the sessions too.
        sessions.spawn(session(stream, peer.ip(), tx.clone()));
        while sessions.try_join_next().is_some() {}
    }
}

/// The per-connection handler: collects one message at a time and hands it over.
struct Collector {
    tx: mpsc::UnboundedSender<ReceivedMail>,
    mail_from: String,
    rcpt_to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        // The state machine keeps the envelope (and resets it on RSET): take it from there.
        self.mail_from = from.to_owned();
        self.rcpt_to = to.to_vec();
        self.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = ReceivedMail {
            mail_from: std::mem::take(&mut self.mail_from),
            rcpt_to: std::mem::take(&mut self.rcpt_to),
            raw: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
        };
        // The test may have dropped the server already; the client is still owed its 250.
        let _ = self.tx.send(mail);
        mailin::response::OK
    }
}

async fn session(stream: TcpStream, peer: IpAddr, tx: mpsc::UnboundedSender<ReceivedMail>) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let collector = Collector {
        tx,
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: Vec::new(),
    };
    let mut session = SessionBuilder::new("smtp.test.invalid").build(peer, collector);
    if reply(&mut write, &session.greeting()).await.is_err() {
        return;
    }
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        match (&mut read)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) if !line.ends_with(b"\n") => {
                let _ = write.write_all(b"500 Line too long\r\n").await;
                return;
            }
            Ok(_) => {}
        }
        let response = session.process(&line);
        match response.action {
            Action::NoReply => {}
            Action::Reply => {
                if reply(&mut write, &response).await.is_err() {
                    return;
                }
            }
            // STARTTLS is not offered, so an upgrade cannot be asked for: close as on QUIT.
            Action::Close | Action::UpgradeTls => {
                let _ = reply(&mut write, &response).await;
                return;
            }
        }
    }
}

async fn reply(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    response: &Response,
) -> std::io::Result<()> {
    let bytes = response.buffer()?;
    write.write_all(&bytes).await?;
    write.flush().await
}
