//! Alerts as Prometheus reports them (`/api/v1/alerts`), and the label filter that picks the
//! ones a deployment cares about. Pure types: reading them is the Prometheus source's job.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Where an alerting rule's alert stands. `/api/v1/alerts` only lists active alerts, so
/// `Inactive` appears only if a server reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The rule matches at every evaluation for its `for:` duration: the alert is sent.
    Firing,
    /// The rule matches but has not yet for its `for:` duration.
    Pending,
    Inactive,
}

impl AlertState {
    pub fn label(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Pending => "pending",
            AlertState::Inactive => "inactive",
        }
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for AlertState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "firing" => Ok(AlertState::Firing),
            "pending" => Ok(AlertState::Pending),
            "inactive" => Ok(AlertState::Inactive),
            other => Err(format!("unknown alert state {other:?}; expected firing, pending or inactive")),
        }
    }
}

/// One active alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// The `alertname` label.
    pub name: String,
    pub state: AlertState,
    /// All labels, `alertname` included.
    pub labels: BTreeMap<String, String>,
    /// The `summary` annotation, else `description`.
    pub summary: Option<String>,
    /// When the rule started matching, as the server wrote it (RFC 3339).
    pub active_at: Option<String>,
    /// The expression's value when last evaluated, as the server wrote it (`1e+00`).
    pub value: Option<String>,
}

impl Alert {
    /// Whether every matcher's label is present with exactly that value. No matchers: every alert.
    pub fn matches(&self, matchers: &BTreeMap<String, String>) -> bool {
        matchers.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

/// The alerts that match `matchers` (see [`Alert::matches`]) in the order the cockpit lists
/// them: firing before pending, then by name, then by labels.
pub fn select(alerts: Vec<Alert>, matchers: &BTreeMap<String, String>) -> Vec<Alert> {
    let mut out: Vec<Alert> = alerts.into_iter().filter(|a| a.matches(matchers)).collect();
    out.sort_by(|a, b| (a.state, &a.name, &a.labels).cmp(&(b.state, &b.name, &b.labels)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, state: AlertState, labels: &[(&str, &str)]) -> Alert {
        let mut l: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        l.insert("alertname".into(), name.into());
        Alert { name: name.into(), state, labels: l, summary: None, active_at: None, value: None }
    }

    fn matchers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn every_matcher_must_hold() {
        let a = alert("HighErrors", AlertState::Firing, &[("team", "payments"), ("env", "blue")]);
        assert!(a.matches(&matchers(&[])));
        assert!(a.matches(&matchers(&[("team", "payments")])));
        assert!(a.matches(&matchers(&[("team", "payments"), ("alertname", "HighErrors")])));
        assert!(!a.matches(&matchers(&[("team", "payments"), ("env", "green")])));
        assert!(!a.matches(&matchers(&[("severity", "page")])), "a missing label does not match");
        assert!(!a.matches(&matchers(&[("team", "")])), "an empty value is not a missing label here");
    }

    #[test]
    fn selection_filters_and_lists_firing_first() {
        let all = vec![
            alert("B", AlertState::Pending, &[("team", "x")]),
            alert("C", AlertState::Firing, &[("team", "x")]),
            alert("A", AlertState::Firing, &[("team", "y")]),
            alert("A", AlertState::Firing, &[("team", "x")]),
        ];
        let names = |v: &[Alert]| v.iter().map(|a| format!("{}:{}", a.name, a.state)).collect::<Vec<_>>();
        assert_eq!(names(&select(all.clone(), &matchers(&[]))), ["A:firing", "A:firing", "C:firing", "B:pending"]);
        assert_eq!(names(&select(all, &matchers(&[("team", "x")]))), ["A:firing", "C:firing", "B:pending"]);
    }

    #[test]
    fn states_parse_and_name_themselves() {
        assert_eq!("firing".parse(), Ok(AlertState::Firing));
        assert_eq!("pending".parse::<AlertState>().unwrap().to_string(), "pending");
        assert!("unknown".parse::<AlertState>().unwrap_err().contains("\"unknown\""));
    }
}
