//! The admin key: decided once at start-up, then matched against what admin requests present.

use super::Service;
use crate::error::ApiError;
use crate::token;

impl Service {
    /// Decide the admin key: the environment's if given, else the stored one, else a new one.
    /// Returns the new key when one was generated, so the caller can print it once.
    pub fn init_admin_key(&self, from_env: Option<&str>) -> Result<Option<String>, ApiError> {
        if let Some(k) = from_env.filter(|k| !k.is_empty()) {
            *self.admin_key_hash.lock() = Some(token::hash(k));
            return Ok(None);
        }
        if let Some(h) = self.store.admin_key_hash()? {
            *self.admin_key_hash.lock() = Some(h);
            return Ok(None);
        }
        let (key, h) = self.seal("admin_credential")?;
        self.store.set_admin_key_hash(&h)?;
        *self.admin_key_hash.lock() = Some(h);
        Ok(Some(key))
    }

    pub fn admin_key_matches(&self, presented: &str) -> bool {
        let Some(expected) = *self.admin_key_hash.lock() else {
            return false;
        };
        let got = token::hash(presented);
        // Comparing digests, so timing reveals nothing about the key itself.
        got.iter()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}
