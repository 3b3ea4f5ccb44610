//! Commands on one element of the current page.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Element, POLL, Result, WebDriverError};

impl Element<'_> {
    /// Types `text` into the element.
    pub async fn send_keys(&self, text: &str) -> Result<()> {
        self.driver
            .post(
                &format!("/element/{}/value", self.id),
                json!({ "text": text }),
            )
            .await
            .map(drop)
    }

    /// Clicks the element.
    pub async fn click(&self) -> Result<()> {
        self.driver
            .post(&format!("/element/{}/click", self.id), json!({}))
            .await
            .map(drop)
    }

    /// The element's rendered text.
    pub async fn text(&self) -> Result<String> {
        Ok(self
            .driver
            .get(&format!("/element/{}/text", self.id))
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Polls until the element is no longer in the page, for at most `timeout`: after a click that
    /// submits a form, this is the old page gone (the next page may still be loading).
    pub async fn wait_stale(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.driver.get(&format!("/element/{}/name", self.id)).await {
                Ok(_) => {}
                // The element's document is gone ("no such element" when the reference belongs to
                // a document the browser no longer has; Chromium answers "unknown error: Node with
                // given id does not belong to the document" when asked while it swaps documents).
                Err(WebDriverError::Protocol { error, message, .. })
                    if error == "stale element reference"
                        || error == "no such element"
                        || message.contains("does not belong to the document") =>
                {
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                let url = self.driver.current_url().await.unwrap_or_default();
                return Err(WebDriverError::Timeout(format!(
                    "the element is still on {url} after {timeout:?}"
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The value of the attribute or property `name` (W3C "Get Element Property").
    pub async fn property(&self, name: &str) -> Result<Value> {
        self.driver
            .get(&format!("/element/{}/property/{name}", self.id))
            .await
    }
}
