//! A real SMTP server for the tests: it speaks enough SMTP (EHLO/HELO, MAIL, RCPT, DATA, RSET,
//! NOOP, QUIT) for any client, keeps every message it accepted as raw text, and can be told to
//! refuse for a while (451), refuse for good (550) or drop the connection after the data.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// How the sink answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Accept everything.
    Accept,
    /// `451` to every MAIL FROM (a temporary failure).
    TempFail,
    /// `550` to every RCPT TO (a permanent refusal).
    Reject,
}

/// A running sink.
#[derive(Clone)]
pub struct Sink {
    /// Where it listens.
    pub addr: SocketAddr,
    messages: Arc<Mutex<Vec<String>>>,
    mode: Arc<Mutex<Mode>>,
}

impl Sink {
    /// Starts a sink on an ephemeral port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = Sink { addr: listener.local_addr().unwrap(), messages: Arc::default(), mode: Arc::new(Mutex::new(Mode::Accept)) };
        let s = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(stream).await;
                });
            }
        });
        sink
    }

    /// `smtp://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Changes how it answers.
    pub fn set_mode(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }

    /// Every message accepted so far, raw.
    pub fn received(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    /// Accepted messages whose raw text contains `needle`.
    pub fn containing(&self, needle: &str) -> Vec<String> {
        self.received().into_iter().filter(|m| m.contains(needle)).collect()
    }

    async fn session(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        w.write_all(b"220 sink.test ESMTP\r\n").await?;
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end().to_ascii_uppercase();
            let mode = *self.mode.lock().unwrap();
            let reply: &[u8] = if cmd.starts_with("EHLO") {
                b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
            } else if cmd.starts_with("HELO") || cmd.starts_with("RSET") || cmd.starts_with("NOOP") {
                b"250 OK\r\n"
            } else if cmd.starts_with("MAIL FROM") {
                if mode == Mode::TempFail { b"451 4.3.0 Try again later\r\n" } else { b"250 OK\r\n" }
            } else if cmd.starts_with("RCPT TO") {
                if mode == Mode::Reject { b"550 5.1.1 No such user\r\n" } else { b"250 OK\r\n" }
            } else if cmd == "DATA" {
                w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
                }
                self.messages.lock().unwrap().push(data);
                b"250 OK queued\r\n"
            } else if cmd.starts_with("QUIT") {
                w.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            } else {
                b"502 Command not implemented\r\n"
            };
            w.write_all(reply).await?;
        }
    }
}
