//! The HTML lessons in a real browser: every page of the library, and its
//! quiz version, opened in headless Chromium over the DevTools protocol.
//! Each page must render (a screenshot with more than a handful of
//! colours), log no console error or exception, make no request beyond
//! its own file, draw one lifeline per participant, show a frame's decoded
//! fields once expanded, and in the quiz keep each outcome hidden until
//! the reader predicts and reveals it.
//!
//! Chromium is required: CI installs it (`.ci/run`); without it this test
//! fails and says how to install it. `PKILAB_SCREENSHOTS=DIR` also writes
//! the screenshots of three lessons into DIR (how `docs/` gets them).
#![allow(clippy::panic)]

#[path = "browser/cdp.rs"]
mod cdp;
#[path = "browser/png.rs"]
mod png;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::{Value, json};

use cdp::{Browser, Page};

fn library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn pkilab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pkilab"))
        .args(args)
        .output()
        .expect("the pkilab binary runs")
}

/// Writes the library's pages (plain or quiz) into `dir`.
fn generate(dir: &Path, quiz: bool) {
    let library = library();
    let mut args = vec![
        "scenario",
        "run",
        library.to_str().expect("utf-8"),
        "--format",
        "html",
        "--out",
        dir.to_str().expect("utf-8"),
    ];
    if quiz {
        args.push("--quiz");
    }
    let out = pkilab(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Each lesson's file stem and participants, from the JSON report.
fn lessons() -> Vec<(String, Vec<String>)> {
    let library = library();
    let out = pkilab(&[
        "scenario",
        "run",
        library.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    json["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|run| {
            let path = run["path"].as_str().expect("path");
            let stem = Path::new(path)
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("stem")
                .to_owned();
            let participants = run["participants"]
                .as_array()
                .expect("participants")
                .iter()
                .map(|p| p.as_str().expect("name").to_owned())
                .collect();
            (stem, participants)
        })
        .collect()
}

fn open(browser: &Browser, file: &Path) -> (Page, String) {
    let mut page = browser.page();
    // Runtime and Log replay what the previous page logged when enabled:
    // leave it for a blank page first.
    page.call("Page.enable", json!({}));
    page.call("Page.navigate", json!({ "url": "about:blank" }));
    page.wait_for("Page.loadEventFired");
    page.events.clear();
    for domain in ["Runtime.enable", "Log.enable", "Network.enable"] {
        page.call(domain, json!({}));
    }
    let url = format!("file://{}", file.display());
    page.call("Page.navigate", json!({ "url": url }));
    page.wait_for("Page.loadEventFired");
    (page, url)
}

/// Console errors, exceptions and requests to anything but the page.
fn problems(page: &Page, url: &str) -> Vec<String> {
    let mut found = Vec::new();
    for event in &page.events {
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Runtime.exceptionThrown") => found.push(format!("exception: {params}")),
            Some("Runtime.consoleAPICalled") if params["type"] == "error" => {
                found.push(format!("console error: {params}"))
            }
            Some("Log.entryAdded") if params["entry"]["level"] == "error" => {
                found.push(format!("log error: {params}"))
            }
            Some("Network.requestWillBeSent") if params["request"]["url"] != url => {
                found.push(format!("request: {}", params["request"]["url"]))
            }
            _ => {}
        }
    }
    found
}

fn screenshot(page: &mut Page) -> Vec<u8> {
    let shot = page.call("Page.captureScreenshot", json!({ "format": "png" }));
    base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("image data"))
        .expect("base64")
}

const EXPAND: &str = r#"(() => {
  const frame = document.querySelector("details.frame");
  if (!frame) return null;
  const table = () => frame.querySelector("table.fields, pre, p");
  const before = table().checkVisibility() ? 1 : 0;
  frame.querySelector("summary").click();
  const labels = [...frame.querySelectorAll("tr.field td:first-child")].map(td => td.textContent);
  return { before, after: table().checkVisibility() ? 1 : 0, open: frame.open, labels };
})()"#;

const QUIZ: &str = r#"(() => {
  const shown = el => el.checkVisibility();
  const forms = [...document.querySelectorAll("form.quiz")];
  const outcomes = [...document.querySelectorAll("div.outcome")];
  const hiddenAtFirst = outcomes.every(o => !shown(o));
  const verdictHidden = !shown(document.querySelector(".verdict"));
  const disabledAtFirst = forms.every(f => f.querySelector("button.reveal").disabled);
  const steps = [];
  for (const form of forms) {
    const step = form.dataset.step;
    const outcome = document.querySelector(`div.outcome[data-step="${step}"]`);
    const rows = document.querySelector(`svg g.step-rows[data-step="${step}"]`);
    const frames = rows === null ? 0 : rows.childElementCount;
    const drawn = g => g.getBoundingClientRect().height > 0;
    const before = shown(outcome) || (frames > 0 && drawn(rows));
    const radio = form.querySelector("input[type=radio]");
    radio.click();
    form.querySelector("button.reveal").click();
    steps.push({ step, before, after: shown(outcome) && (frames === 0 || drawn(rows)),
                 judged: form.querySelector(".judgement").textContent });
  }
  return { forms: forms.length, outcomes: outcomes.length, hiddenAtFirst, verdictHidden,
           disabledAtFirst, steps, verdictAfter: shown(document.querySelector(".verdict")) };
})()"#;

#[test]
fn every_lesson_page_renders_in_chromium_and_behaves() {
    let Some(binary) = cdp::chromium() else {
        panic!(
            "chromium is not installed: this test needs it (apt-get install chromium); .ci/run installs it"
        );
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (plain, quiz) = (dir.path().join("plain"), dir.path().join("quiz"));
    generate(&plain, false);
    generate(&quiz, true);
    let lessons = lessons();
    assert!(lessons.len() >= 26, "{} lessons", lessons.len());
    // Relative to the repository root (tests run in crates/cli).
    let keep = std::env::var_os("PKILAB_SCREENSHOTS").map(|dir| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(dir)
    });
    let browser = Browser::start(&binary);

    // The detectors themselves: a page that logs an error and loads an
    // image from elsewhere (the loopback discard port) is caught.
    let bad = dir.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><p>x</p><img src=\"http://127.0.0.1:9/a.png\"><script>console.error('boom')</script>",
    )
    .expect("write");
    let (page, url) = open(&browser, &bad);
    let found = problems(&page, &url);
    assert!(
        found.iter().any(|p| p.starts_with("console error")),
        "{found:?}"
    );
    assert!(found.iter().any(|p| p.contains("127.0.0.1:9")), "{found:?}");

    let (mut page, url) = open(&browser, &plain.join("index.html"));
    let links = page.eval("document.querySelectorAll('table.index a').length");
    assert_eq!(links, json!(lessons.len()));
    assert_eq!(problems(&page, &url), Vec::<String>::new(), "index.html");

    for (stem, participants) in &lessons {
        let (mut page, url) = open(&browser, &plain.join(format!("{stem}.html")));
        let (colours, width, _) = png::colours(&screenshot(&mut page), 64);
        assert!(width >= 800, "{stem}: {width} px wide");
        assert!(
            colours >= 8,
            "{stem}: the screenshot has {colours} colours: blank?"
        );
        let shown = [
            "01-unauthenticated-mitm",
            "03-mitm-own-certificate",
            "24-corporate-interception",
        ];
        if let Some(dir) = keep.as_ref().filter(|_| shown.contains(&stem.as_str())) {
            std::fs::write(dir.join(format!("{stem}.png")), screenshot(&mut page))
                .expect("write screenshot");
        }
        let lifelines = page.eval(
            "[...document.querySelectorAll('svg.sequence line.lifeline')].map(l => l.dataset.participant)",
        );
        assert_eq!(lifelines, json!(participants), "{stem}");
        let expanded = page.eval(EXPAND);
        if !participants.is_empty() {
            assert_eq!(
                expanded["before"], 0,
                "{stem}: a closed frame hides its fields"
            );
            assert_eq!(expanded["open"], true, "{stem}");
            assert!(expanded["after"].as_u64() > Some(0), "{stem}: {expanded}");
            let labels = expanded["labels"].as_array().expect("labels");
            assert_eq!(
                labels.first(),
                Some(&json!("version")),
                "{stem}: {expanded}"
            );
            // The first frame is a hello, or (a stapling peer fetching its
            // status first) an OCSP request; either is decoded field by field.
            assert!(
                labels.contains(&json!("key share")) || labels.contains(&json!("OCSPRequest")),
                "{stem}: {expanded}"
            );
        }
        assert_eq!(problems(&page, &url), Vec::<String>::new(), "{stem}");

        let (mut page, url) = open(&browser, &quiz.join(format!("{stem}.html")));
        let result = page.eval(QUIZ);
        let forms = result["forms"].as_u64().expect("forms");
        assert!(forms > 0, "{stem}: {result}");
        assert_eq!(result["outcomes"], forms, "{stem}");
        assert_eq!(result["hiddenAtFirst"], true, "{stem}: {result}");
        assert_eq!(result["verdictHidden"], true, "{stem}: {result}");
        assert_eq!(result["disabledAtFirst"], true, "{stem}: {result}");
        for step in result["steps"].as_array().expect("steps") {
            assert_eq!(step["before"], false, "{stem}: {step}");
            assert_eq!(step["after"], true, "{stem}: {step}");
        }
        assert_eq!(result["verdictAfter"], true, "{stem}: every step revealed");
        assert_eq!(problems(&page, &url), Vec::<String>::new(), "{stem} (quiz)");
    }
}
