//! Just enough of the Chrome DevTools protocol for the browser test: a
//! headless Chromium, one WebSocket to a page (RFC 6455 client framing over
//! a plain TCP stream to the loopback address), commands and events.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// A running headless Chromium with its own profile directory.
pub struct Browser {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Chromium binary on PATH, if any.
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

impl Browser {
    /// Starts Chromium headless, with no network services of its own.
    pub fn start(binary: &Path) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--allow-file-access-from-files",
                "--remote-debugging-port=0",
                "--window-size=1200,1600",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        // Chromium writes the port it chose into the profile directory.
        let file = profile.path().join("DevToolsActivePort");
        let mut port = None;
        for _ in 0..600 {
            // Two lines once complete: the port, then the browser's path.
            if let Some(p) = std::fs::read_to_string(&file)
                .ok()
                .filter(|t| t.lines().count() >= 2)
                .and_then(|t| t.lines().next().and_then(|l| l.parse().ok()))
            {
                port = Some(p);
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Browser {
            child,
            port: port.expect("chromium opened its DevTools port within a minute"),
            _profile: profile,
        }
    }

    /// A WebSocket to the first page target.
    pub fn page(&self) -> Page {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("devtools");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut writer = stream.try_clone().expect("clone");
        write!(writer, "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
        // The connection stays open: read the headers, then Content-Length bytes.
        let mut reader = BufReader::new(stream);
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("a length");
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        let body = String::from_utf8(body).expect("utf-8");
        let targets: Value = serde_json::from_str(&body).expect("JSON list");
        let url = targets
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target");
        let path = url
            .find("/devtools/")
            .map(|at| &url[at..])
            .unwrap_or_else(|| panic!("{url}: not a DevTools address"));
        Page::connect(self.port, path)
    }
}

/// A DevTools session with one page.
pub struct Page {
    stream: TcpStream,
    next_id: u64,
    /// Every event received so far.
    pub events: Vec<Value>,
}

impl Page {
    fn connect(port: u16, path: &str) -> Page {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("devtools socket");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: cGtpbGFiLWJyb3dzZXItdA==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .expect("upgrade");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut status = String::new();
        reader.read_line(&mut status).expect("status");
        assert!(status.contains(" 101 "), "upgrade refused: {status}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            if line == "\r\n" {
                break;
            }
        }
        Page {
            stream,
            next_id: 0,
            events: Vec::new(),
        }
    }

    fn send_text(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x5a, 0x17, 0xc3, 0x88];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).expect("send");
    }

    fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        self.stream.read_exact(&mut buf).expect("devtools answers");
        buf
    }

    /// One whole text message (continuation frames joined).
    fn receive(&mut self) -> Value {
        let mut message = Vec::new();
        loop {
            let head = self.read_exact(2);
            let len = match head[1] & 0x7f {
                126 => {
                    let b = self.read_exact(2);
                    usize::from(u16::from_be_bytes([b[0], b[1]]))
                }
                127 => {
                    let b = self.read_exact(8);
                    u64::from_be_bytes(b.try_into().expect("8 bytes")) as usize
                }
                n => n as usize,
            };
            message.extend(self.read_exact(len));
            if head[0] & 0x80 != 0 {
                break;
            }
        }
        serde_json::from_slice(&message).expect("a JSON message")
    }

    /// Sends a command and returns its result; events that arrive first
    /// are kept in `events`.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send_text(&json!({"id": id, "method": method, "params": params}).to_string());
        loop {
            let message = self.receive();
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    /// Waits for an event by name.
    pub fn wait_for(&mut self, method: &str) {
        if self.events.iter().any(|e| e["method"] == method) {
            return;
        }
        loop {
            let message = self.receive();
            let found = message["method"] == method;
            self.events.push(message);
            if found {
                return;
            }
        }
    }

    /// Evaluates JavaScript in the page and returns its value.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }
}
