//! Canned responses and the variables replies can use (`{{contact.first_name}}`…), filled in
//! for one conversation. Macros use the same rendering for the messages they send.

use crate::caixa::{check_content, Caixa};
use crate::error::{Error, Result};
use crate::model::{CannedResponse, ConversationId, CoreEvent};
use crate::store::{canned, contacts, now_ms};

/// The variables a reply may use.
pub const VARIABLES: [&str; 4] = [
    "contact.name",
    "contact.first_name",
    "agent.name",
    "inbox.name",
];

impl Caixa {
    pub async fn list_canned_responses(&self) -> Result<Vec<CannedResponse>> {
        self.store().read(canned::list).await
    }

    pub async fn create_canned_response(
        &self,
        short_code: &str,
        content: &str,
    ) -> Result<CannedResponse> {
        let (code, content) = check(short_code, content)?;
        let now = now_ms();
        let id = self
            .store()
            .write(move |tx| canned::insert(tx, &code, &content, now))
            .await?;
        self.events().emit(CoreEvent::CannedResponsesChanged);
        self.store().read(move |c| canned::get(c, id)).await
    }

    pub async fn update_canned_response(
        &self,
        id: i64,
        short_code: &str,
        content: &str,
    ) -> Result<CannedResponse> {
        let (code, content) = check(short_code, content)?;
        self.store()
            .write(move |tx| canned::update(tx, id, &code, &content))
            .await?;
        self.events().emit(CoreEvent::CannedResponsesChanged);
        self.store().read(move |c| canned::get(c, id)).await
    }

    pub async fn delete_canned_response(&self, id: i64) -> Result<()> {
        self.store().write(move |tx| canned::delete(tx, id)).await?;
        self.events().emit(CoreEvent::CannedResponsesChanged);
        Ok(())
    }

    /// `text` with its variables filled in for this conversation (its contact, inbox and the
    /// local agent).
    pub async fn render_reply(
        &self,
        conversation_id: ConversationId,
        text: &str,
    ) -> Result<String> {
        let row = self.get_conversation(conversation_id).await?;
        let contact = self
            .store()
            .read(move |c| contacts::get(c, row.contact_id))
            .await?;
        let first = contact
            .name
            .split_whitespace()
            .next()
            .unwrap_or(&contact.name)
            .to_string();
        Ok(fill(text, |var| match var {
            "contact.name" => Some(contact.name.clone()),
            "contact.first_name" => Some(first.clone()),
            "agent.name" => Some(self.config().agent_name.clone()),
            "inbox.name" => Some(row.inbox_name.clone()),
            _ => None,
        }))
    }
}

/// Replaces each `{{ name }}` the lookup knows; anything else stays as written.
fn fill(text: &str, mut lookup: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + len].trim();
        out.push_str(&rest[..start]);
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Variables used in `text` that Caixa does not know (a typo would otherwise reach customers).
pub fn unknown_variables(text: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    fill(text, |name| {
        if !VARIABLES.contains(&name) {
            unknown.push(name.to_string());
        }
        None
    });
    unknown
}

fn check(short_code: &str, content: &str) -> Result<(String, String)> {
    let code = short_code.trim().trim_start_matches('/').to_lowercase();
    let code_ok = !code.is_empty()
        && code.len() <= 32
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !code_ok {
        return Err(Error::field(
            "short_code",
            "Use 1 to 32 letters, digits, - or _ (typed after / in the reply box).",
        ));
    }
    let content = check_content(content)?;
    let unknown = unknown_variables(&content);
    if !unknown.is_empty() {
        return Err(Error::field(
            "content",
            format!(
                "Unknown variable {}: use {}.",
                unknown
                    .iter()
                    .map(|v| format!("{{{{{v}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                VARIABLES
                    .iter()
                    .map(|v| format!("{{{{{v}}}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok((code, content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_filled_and_typos_named() {
        let filled = fill(
            "Olá {{contact.first_name}}, aqui é {{ agent.name }}. {{x",
            |v| match v {
                "contact.first_name" => Some("Maria".into()),
                "agent.name" => Some("Ana".into()),
                _ => None,
            },
        );
        assert_eq!(filled, "Olá Maria, aqui é Ana. {{x");
        assert_eq!(
            unknown_variables("Hi {{contact.frist_name}} {{agent.name}}"),
            ["contact.frist_name"]
        );
        assert!(check("/Refund", "ok {{inbox.name}}").is_ok());
        assert!(check("two words", "ok").is_err());
        assert!(check("ok", "Hi {{contact.nam}}")
            .unwrap_err()
            .to_string()
            .contains("contact.nam"));
    }
}
