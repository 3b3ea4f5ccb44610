//! What a page looks like: the emulated colour scheme and `Accept-Language` (Chrome DevTools
//! Protocol commands through chromedriver's `goog/cdp/execute`), the window size, and PNG
//! screenshots, saved only when `AUTH_TEST_SCREENSHOTS` names a directory.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{Driver, Result, WebDriverError};

/// The variable naming the directory screenshots are saved in; relative to the workspace root.
pub const SCREENSHOTS_VAR: &str = "AUTH_TEST_SCREENSHOTS";

/// `prefers-color-scheme` (Media Queries Level 5 §12.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorScheme {
    /// `light`.
    Light,
    /// `dark`.
    Dark,
}

impl ColorScheme {
    /// The media feature's value, also the screenshot's file-name suffix.
    pub fn name(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }
}

impl Driver {
    /// Runs a Chrome DevTools Protocol command (`cmd` such as `Emulation.setEmulatedMedia`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Result<Value> {
        self.post("/goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
            .await
    }

    /// Makes pages see `prefers-color-scheme: scheme` (it lasts across navigations).
    pub async fn set_color_scheme(&self, scheme: ColorScheme) -> Result<()> {
        let feature = json!({ "name": "prefers-color-scheme", "value": scheme.name() });
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [feature] }),
        )
        .await
        .map(drop)
    }

    /// Sends `Accept-Language: value` with the next requests (the user agent unchanged).
    pub async fn set_accept_language(&self, value: &str) -> Result<()> {
        let agent = self
            .execute("return navigator.userAgent;", Vec::new())
            .await?;
        self.cdp(
            "Emulation.setUserAgentOverride",
            json!({ "userAgent": agent, "acceptLanguage": value }),
        )
        .await
        .map(drop)
    }

    /// Resizes the window (headless: the viewport) to `width` x `height` CSS pixels.
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await
            .map(drop)
    }

    /// A PNG of the viewport (W3C WebDriver "Take Screenshot").
    pub async fn screenshot(&self) -> Result<Vec<u8>> {
        let b64 = self.get("/screenshot").await?;
        STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .map_err(|e| WebDriverError::Protocol {
                status: 200,
                error: "bad screenshot".into(),
                message: e.to_string(),
            })
    }
}

/// Where screenshots go, when they are wanted: `AUTH_TEST_SCREENSHOTS=docs/screenshots` (a path
/// relative to the workspace root, or absolute). Unset, nothing is written.
#[derive(Debug, Clone)]
pub struct Screenshots {
    dir: Option<PathBuf>,
}

impl Screenshots {
    /// From `AUTH_TEST_SCREENSHOTS`.
    pub fn from_env() -> Self {
        let dir = std::env::var_os(SCREENSHOTS_VAR)
            .filter(|d| !d.is_empty())
            .map(|d| {
                let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
                root.join(d)
            });
        Self { dir }
    }

    /// Whether screenshots are being saved.
    pub fn enabled(&self) -> bool {
        self.dir.is_some()
    }

    /// Saves `{name}-light.png` and `{name}-dark.png` of the current page, and leaves the browser
    /// in the light scheme. Does nothing when not enabled.
    ///
    /// # Panics
    /// When the directory or a file cannot be written.
    pub async fn take(&self, browser: &Driver, name: &str) -> Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for scheme in [ColorScheme::Light, ColorScheme::Dark] {
            browser.set_color_scheme(scheme).await?;
            // Read back through the page, so the capture follows the new style.
            let query = format!(
                "return matchMedia('(prefers-color-scheme: {})').matches;",
                scheme.name()
            );
            if browser.execute(&query, Vec::new()).await? != true {
                return Err(WebDriverError::Protocol {
                    status: 200,
                    error: "emulation".into(),
                    message: format!("the page does not see {}", scheme.name()),
                });
            }
            let png = browser.screenshot().await?;
            let path = dir.join(format!("{name}-{}.png", scheme.name()));
            std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        browser.set_color_scheme(ColorScheme::Light).await
    }
}
