//! Putting idle tickets to sleep: nothing of their document stays in memory; their next use loads it from storage.

use super::*;

impl Hub {
    /// Puts tickets to sleep (their document dropped; storage has it): those nobody used for `idle`,
    /// and, while more than `max_awake` are awake, the least recently used
    /// beyond that number (a reconnect storm wakes thousands at once; this
    /// keeps the memory they take bounded). Returns how many. A ticket is woken
    /// by its next use; documents being used now are left alone.
    pub async fn sleep_idle_tickets(&self, idle: std::time::Duration, max_awake: usize) -> usize {
        let entries: Vec<Arc<DocEntry>> = {
            let docs = self.docs.lock().await;
            docs.live
                .iter()
                .filter(|(id, _)| matches!(id, DocId::Ticket(_)))
                .filter_map(|(_, weak)| weak.upgrade())
                .collect()
        };
        let mut awake: Vec<(LastUse, Arc<DocEntry>)> = entries
            .into_iter()
            .filter_map(|entry| {
                let st = entry.loaded.get()?.try_lock().ok()?;
                let used = st.may_sleep().then_some(st.last_used);
                drop(st);
                used.map(|used| (used, entry))
            })
            .collect();
        // Least recently used first: every idle one sleeps, and so do the
        // oldest beyond `max_awake`.
        awake.sort_by_key(|(used, _)| *used);
        let over = awake.len().saturating_sub(max_awake);
        let now = (self.clock)();
        let idle_ms = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
        let mut slept = 0;
        for (index, (used, entry)) in awake.iter().enumerate() {
            if index >= over && now.saturating_sub(used.at_ms) < idle_ms {
                break;
            }
            let Some(state) = entry.loaded.get() else {
                continue;
            };
            if let Ok(mut st) = state.try_lock() {
                slept += usize::from(st.sleep());
            }
        }
        slept
    }
}
