//! The HTTP side of Prometheus's API: building requests, reading the JSON envelope, and
//! decoding instant-query, range-query and alert results. Decoding is pure and tested
//! without a server.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::Value as Json;

use super::{PromConfig, Reduce};
use crate::domain::alert::{Alert, AlertState};
use crate::domain::bound::{MAX_CHARS, bound};
use crate::domain::time::Ts;
use crate::sources::{describe_error, read_body, snippet};

/// The largest answer read; a larger one is an error rather than a silent cut.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Queries longer than this (in bytes, before URL encoding) are sent as a form-encoded POST,
/// which has no URL length limit on the way (proxies often cut URLs at 2–8 KiB).
pub const LONG_QUERY_BYTES: usize = 1500;

/// Why a Prometheus request gave no usable number. `Display` is the text the cockpit shows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromError {
    /// The configuration cannot be used as it is: a bad URL or header, a missing secret, an
    /// unreadable CA file.
    #[error("{0}")]
    Config(String),
    /// No HTTP answer: connection refused, timeout, TLS failure.
    #[error("{method} {url}: {reason}")]
    Transport { method: &'static str, url: String, reason: String },
    /// Prometheus's own error envelope, shown as `errorType: error`.
    #[error("{error_type}: {message}")]
    Api { status: u16, error_type: String, message: String },
    /// An answer that is not Prometheus API JSON (a proxy's HTML page, a wrong URL, a login page).
    #[error("HTTP {status} from {url} is not a Prometheus API answer{hint}: {snippet}")]
    NotApi { url: String, status: u16, hint: &'static str, snippet: String },
    /// A well-formed answer cutover cannot turn into one number (a range vector, several series).
    #[error("{0}")]
    Result(String),
}

/// The `data` and `warnings` of a successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    pub data: T,
    pub warnings: Vec<String>,
}

/// One series of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// What an instant query can usefully return.
#[derive(Debug, Clone, PartialEq)]
pub enum InstantResult {
    Vector(Vec<Sample>),
    Scalar(f64),
}

/// One series of a range query.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(Ts, f64)>,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Json>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

type RawPoint = (f64, String);

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum RawData {
    Vector(Vec<RawSample>),
    Scalar(RawPoint),
    Matrix(Vec<RawSeries>),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct RawSample {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: Option<RawPoint>,
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<RawPoint>,
}

#[derive(Deserialize)]
struct RawAlerts {
    alerts: Vec<RawAlert>,
}

#[derive(Deserialize)]
struct RawAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    state: String,
    #[serde(rename = "activeAt")]
    active_at: Option<String>,
    value: Option<Json>,
}

/// The URL as shown in messages: no credentials, no query string.
pub(super) fn shown_url(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// What one label name or value is cut to in messages.
const MAX_LABEL_CHARS: usize = 60;

/// `{env="blue",service="api"}`, each name and value cut to a few dozen characters and the
/// whole to [`MAX_CHARS`]: label values come from the scraped services.
pub fn format_labels(labels: &BTreeMap<String, String>) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        if s.len() > MAX_CHARS {
            let _ = write!(s, "… ({} more labels)", labels.len() - i);
            break;
        }
        let _ = write!(s, "{}={:?}", bound(k, MAX_LABEL_CHARS), bound(v, MAX_LABEL_CHARS));
    }
    s.push('}');
    s
}

/// Sends one API request and reads the envelope. `params` go in the URL for a GET and in a
/// form-encoded body for a POST.
pub(super) async fn call(
    cfg: &PromConfig,
    client: &reqwest::Client,
    path: &str,
    params: &[(&str, String)],
    post: bool,
) -> Result<Answer<Json>, PromError> {
    let url = cfg.endpoint(path)?;
    let shown = shown_url(&url);
    let method = if post { "POST" } else { "GET" };
    let timeout = cfg.request_timeout();
    let req = if post { client.post(url).form(params) } else { client.get(url).query(params) };
    let req = cfg.authorize(req.timeout(timeout).headers(cfg.header_map()?))?;
    let resp = req.send().await.map_err(|e| PromError::Transport {
        method,
        url: shown.clone(),
        reason: describe_error(&e, timeout),
    })?;
    let status = resp.status().as_u16();
    let (body, truncated) = read_body(resp, MAX_BODY_BYTES).await.map_err(|e| PromError::Transport {
        method,
        url: shown.clone(),
        reason: describe_error(&e, timeout),
    })?;
    decode_envelope(status, &body, truncated, &shown)
}

/// Reads Prometheus's `{"status": …}` envelope from an answer with HTTP `status`.
pub fn decode_envelope(status: u16, body: &str, truncated: bool, url: &str) -> Result<Answer<Json>, PromError> {
    let not_api = |snippet: String| {
        let hint = match status {
            401 | 403 => " (check the credentials)",
            404 => " (check the base URL and any path prefix)",
            _ => "",
        };
        PromError::NotApi { url: url.to_string(), status, hint, snippet }
    };
    if truncated {
        return Err(not_api(format!("larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024))));
    }
    let env: Envelope = match serde_json::from_str(body) {
        Ok(e) => e,
        Err(_) if body.trim().is_empty() => return Err(not_api("empty body".into())),
        Err(_) => return Err(not_api(snippet(body))),
    };
    match env.status.as_str() {
        "error" => Err(PromError::Api {
            status,
            error_type: env.error_type.filter(|t| !t.is_empty()).map_or_else(|| "error".into(), |t| bound(&t, 40)),
            message: env.error.map(|m| bound(&m, MAX_CHARS)).unwrap_or_default(),
        }),
        "success" if (200..300).contains(&status) => match env.data {
            Some(data) => Ok(Answer { data, warnings: env.warnings.iter().map(|w| bound(w, MAX_CHARS)).collect() }),
            None => Err(not_api(snippet(body))),
        },
        _ => Err(not_api(snippet(body))),
    }
}

fn number(text: &str) -> Result<f64, PromError> {
    // Rust reads Prometheus's "NaN", "+Inf", "-Inf" and "1e-07" as they are.
    text.parse::<f64>().map_err(|_| PromError::Result(format!("sample value {:?} is not a number", bound(text, 40))))
}

fn data<'de, T: Deserialize<'de>>(data: &'de Json, what: &str) -> Result<T, PromError> {
    T::deserialize(data).map_err(|e| PromError::Result(format!("unexpected {what} result from Prometheus: {e}")))
}

/// Decodes an instant query's `data`. A range vector or a string is an error that says an
/// instant vector or a scalar is expected.
pub fn decode_instant(json: &Json) -> Result<InstantResult, PromError> {
    let raw: RawData = data(json, "query")?;
    match raw {
        RawData::Scalar((_, v)) => Ok(InstantResult::Scalar(number(&v)?)),
        RawData::Vector(samples) => samples
            .into_iter()
            .map(|s| match s.value {
                Some((_, v)) => Ok(Sample { labels: s.metric, value: number(&v)? }),
                None => Err(PromError::Result(format!(
                    "series {} has no float value (a native histogram?); expected a number",
                    format_labels(&s.metric)
                ))),
            })
            .collect::<Result<_, _>>()
            .map(InstantResult::Vector),
        RawData::Matrix(_) => Err(PromError::Result(
            "the query returned a range vector (matrix); an instant-vector or scalar query is expected: \
             wrap the range selector in a function such as rate(…[1m])"
                .into(),
        )),
        RawData::String(_) => {
            Err(PromError::Result("the query returned a string; an instant-vector or scalar query is expected".into()))
        }
    }
}

/// Decodes a range query's `data` (always a matrix).
pub fn decode_matrix(json: &Json) -> Result<Vec<Series>, PromError> {
    let raw: RawData = data(json, "range query")?;
    let RawData::Matrix(series) = raw else {
        return Err(PromError::Result("a range query returned something other than a matrix".into()));
    };
    series
        .into_iter()
        .map(|s| {
            let points =
                s.values.iter().map(|(t, v)| Ok((Ts::from_secs_f64(*t), number(v)?))).collect::<Result<_, _>>()?;
            Ok(Series { labels: s.metric, points })
        })
        .collect()
}

/// Decodes `/api/v1/alerts`'s `data`.
pub fn decode_alerts(json: &Json) -> Result<Vec<Alert>, PromError> {
    let raw: RawAlerts = data(json, "alerts")?;
    raw.alerts
        .into_iter()
        .map(|a| {
            let state: AlertState = a.state.parse().map_err(|e: String| PromError::Result(bound(&e, MAX_CHARS)))?;
            let summary = a.annotations.get("summary").or_else(|| a.annotations.get("description"));
            let value = a.value.map(|v| match v {
                Json::String(s) => bound(&s, 40),
                other => bound(&other.to_string(), 40),
            });
            let labels = a.labels.iter().map(|(k, v)| (bound(k, MAX_LABEL_CHARS), bound(v, MAX_CHARS))).collect();
            Ok(Alert {
                name: a.labels.get("alertname").map(|n| bound(n, MAX_LABEL_CHARS)).unwrap_or_default(),
                state,
                labels,
                summary: summary.map(|s| bound(s, MAX_CHARS)),
                active_at: a.active_at.map(|t| bound(&t, 40)),
                value,
            })
        })
        .collect()
}

fn too_many(n: usize, mut labels: impl Iterator<Item = String>) -> PromError {
    let shown: Vec<String> = labels.by_ref().take(3).collect();
    let more = if n > 3 { format!(" and {} more", n - 3) } else { String::new() };
    PromError::Result(format!(
        "expected 1 series, got {n}: {}{more}; aggregate in the query (sum(…), max(…)) or configure reduce = \
         \"sum\", \"max\" or \"min\"",
        shown.join(", ")
    ))
}

/// One number from an instant result: `None` for an empty vector (no data, never zero).
/// Several series need `reduce`; without it they are an error, never silently the first.
pub fn reduce_instant(result: &InstantResult, reduce: Option<Reduce>) -> Result<Option<f64>, PromError> {
    match result {
        InstantResult::Scalar(v) => Ok(Some(*v)),
        InstantResult::Vector(samples) => match (samples.len(), reduce) {
            (0, _) => Ok(None),
            (1, _) => Ok(Some(samples[0].value)),
            (_, Some(how)) => Ok(samples.iter().map(|s| s.value).reduce(|a, b| how.apply(a, b))),
            (n, None) => Err(too_many(n, samples.iter().map(|s| format_labels(&s.labels)))),
        },
    }
}

/// One line of points from a range result: series are combined per timestamp with `reduce`.
/// No series: no points. Several series without `reduce`: an error.
pub fn reduce_range(series: &[Series], reduce: Option<Reduce>) -> Result<Vec<(Ts, f64)>, PromError> {
    match (series.len(), reduce) {
        (0, _) => Ok(Vec::new()),
        (1, _) => Ok(series[0].points.clone()),
        (_, Some(how)) => {
            let mut by_time: BTreeMap<Ts, f64> = BTreeMap::new();
            for s in series {
                for &(t, v) in &s.points {
                    by_time.entry(t).and_modify(|acc| *acc = how.apply(*acc, v)).or_insert(v);
                }
            }
            Ok(by_time.into_iter().collect())
        }
        (n, None) => Err(too_many(n, series.iter().map(|s| format_labels(&s.labels)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URL: &str = "http://prom:9090/api/v1/query";

    fn ok(body: &str) -> Answer<Json> {
        decode_envelope(200, body, false, URL).unwrap()
    }

    fn instant(body: &str) -> Result<InstantResult, PromError> {
        decode_instant(&ok(body).data)
    }

    #[test]
    fn error_envelopes_are_shown_verbatim_for_every_status() {
        let cases = [
            (400, "bad_data", r#"invalid parameter \"query\": 1:5: parse error: unexpected <EOF>"#),
            (422, "execution", "vector cannot contain metrics with the same labelset"),
            (499, "canceled", "query was canceled in expression evaluation"),
            (503, "timeout", "query timed out in expression evaluation"),
            (500, "internal", "something broke"),
        ];
        for (status, ty, msg) in cases {
            let body = format!(r#"{{"status":"error","errorType":"{ty}","error":"{msg}"}}"#);
            let e = decode_envelope(status, &body, false, URL).unwrap_err();
            let unescaped = msg.replace("\\\"", "\"");
            assert_eq!(e, PromError::Api { status, error_type: ty.into(), message: unescaped.clone() });
            assert_eq!(e.to_string(), format!("{ty}: {unescaped}"));
        }
        let e = decode_envelope(400, r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected <EOF>"}"#, false, URL).unwrap_err();
        assert_eq!(e.to_string(), r#"bad_data: invalid parameter "query": 1:5: parse error: unexpected <EOF>"#);
    }

    #[test]
    fn non_json_answers_name_url_and_status_with_a_snippet() {
        let html = "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>";
        let e = decode_envelope(502, html, false, URL).unwrap_err();
        assert_eq!(
            e.to_string(),
            "HTTP 502 from http://prom:9090/api/v1/query is not a Prometheus API answer: \
             <html> <head><title>502 Bad Gateway</title></head> <body>nginx</body></html>"
        );
        let e = decode_envelope(200, "<!doctype html><form>Sign in</form>", false, URL).unwrap_err();
        assert!(e.to_string().starts_with("HTTP 200 from http://prom:9090/api/v1/query is not"), "{e}");
        let e = decode_envelope(404, "404 page not found\n", false, URL).unwrap_err();
        assert!(e.to_string().contains("answer (check the base URL and any path prefix): 404 page not found"), "{e}");
        let e = decode_envelope(401, "", false, URL).unwrap_err();
        assert!(e.to_string().ends_with("(check the credentials): empty body"), "{e}");
        let e = decode_envelope(200, r#"{"hello":"world"}"#, false, URL).unwrap_err();
        assert!(matches!(e, PromError::NotApi { status: 200, .. }), "{e}");
        let e = decode_envelope(200, r#"{"status":"success"}"#, false, URL).unwrap_err();
        assert!(matches!(e, PromError::NotApi { .. }), "no data: {e}");
        let e = decode_envelope(200, "{", true, URL).unwrap_err();
        assert!(e.to_string().ends_with("larger than 16 MiB"), "{e}");
        let long = "x".repeat(500);
        let e = decode_envelope(500, &long, false, URL).unwrap_err();
        assert!(e.to_string().chars().count() < 200, "the snippet is short: {e}");
    }

    #[test]
    fn vectors_scalars_and_special_values() {
        let r = instant(
            r#"{"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"env":"blue"},"value":[1795707085.364,"1e-07"]}]}}"#,
        );
        let labels: BTreeMap<String, String> = [("env".to_string(), "blue".to_string())].into();
        assert_eq!(r, Ok(InstantResult::Vector(vec![Sample { labels, value: 1e-7 }])));
        for (text, check) in [
            ("NaN", f64::is_nan as fn(f64) -> bool),
            ("+Inf", |v| v == f64::INFINITY),
            ("-Inf", |v| v == f64::NEG_INFINITY),
            ("0.25", |v| v == 0.25),
        ] {
            let body = format!(r#"{{"status":"success","data":{{"resultType":"scalar","result":[1.5,"{text}"]}}}}"#);
            match instant(&body) {
                Ok(InstantResult::Scalar(v)) => assert!(check(v), "{text} read as {v}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        let e = instant(r#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"lots"]}}"#).unwrap_err();
        assert_eq!(e.to_string(), r#"sample value "lots" is not a number"#);
    }

    #[test]
    fn matrices_and_strings_are_not_instant_values() {
        let e = instant(r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#).unwrap_err();
        assert!(e.to_string().contains("range vector (matrix); an instant-vector or scalar query is expected"), "{e}");
        let e = instant(r#"{"status":"success","data":{"resultType":"string","result":[1.5,"hello"]}}"#).unwrap_err();
        assert!(e.to_string().contains("returned a string; an instant-vector or scalar query is expected"), "{e}");
        let e = instant(r#"{"status":"success","data":{"resultType":"banana","result":[]}}"#).unwrap_err();
        assert!(e.to_string().starts_with("unexpected query result from Prometheus"), "{e}");
        let e = instant(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("no float value"), "{e}");
    }

    #[test]
    fn warnings_come_with_the_data() {
        let a = ok(r#"{"status":"success","warnings":["partial response","slow store"],
                      "data":{"resultType":"scalar","result":[1,"2"]}}"#);
        assert_eq!(a.warnings, ["partial response", "slow store"]);
    }

    fn vector(values: &[(&str, f64)]) -> InstantResult {
        InstantResult::Vector(
            values
                .iter()
                .map(|(svc, v)| Sample { labels: [("service".to_string(), svc.to_string())].into(), value: *v })
                .collect(),
        )
    }

    #[test]
    fn several_series_are_reduced_as_configured_or_refused() {
        let r = vector(&[("a", 1.0), ("b", 4.0), ("c", 2.0)]);
        assert_eq!(reduce_instant(&r, Some(Reduce::Sum)), Ok(Some(7.0)));
        assert_eq!(reduce_instant(&r, Some(Reduce::Max)), Ok(Some(4.0)));
        assert_eq!(reduce_instant(&r, Some(Reduce::Min)), Ok(Some(1.0)));
        let e = reduce_instant(&r, None).unwrap_err().to_string();
        assert!(
            e.starts_with(r#"expected 1 series, got 3: {service="a"}, {service="b"}, {service="c"}; aggregate"#),
            "{e}"
        );
        let many = vector(&[("a", 1.0), ("b", 1.0), ("c", 1.0), ("d", 1.0), ("e", 1.0)]);
        let e = reduce_instant(&many, None).unwrap_err().to_string();
        assert!(e.contains(r#"{service="c"} and 2 more;"#), "{e}");
        assert_eq!(reduce_instant(&vector(&[("a", 3.0)]), None), Ok(Some(3.0)));
        assert_eq!(reduce_instant(&vector(&[]), None), Ok(None), "empty is no data");
        assert_eq!(reduce_instant(&vector(&[]), Some(Reduce::Sum)), Ok(None), "not a sum of zero");
        assert_eq!(reduce_instant(&InstantResult::Scalar(0.5), None), Ok(Some(0.5)));
        let nan = vector(&[("a", f64::NAN), ("b", 2.0)]);
        assert_eq!(reduce_instant(&nan, Some(Reduce::Max)), Ok(Some(2.0)), "max skips NaN as PromQL does");
    }

    #[test]
    fn range_results_are_reduced_per_timestamp() {
        let body = json!({"resultType":"matrix","result":[
            {"metric":{"s":"a"},"values":[[10,"1"],[12,"2"]]},
            {"metric":{"s":"b"},"values":[[12,"5"],[14,"NaN"]]}]});
        let series = decode_matrix(&body).unwrap();
        assert_eq!(series[1].points[0], (Ts(12_000), 5.0));
        assert_eq!(reduce_range(&series, Some(Reduce::Sum)).unwrap()[..2], [(Ts(10_000), 1.0), (Ts(12_000), 7.0)]);
        assert!(reduce_range(&series, None).unwrap_err().to_string().starts_with("expected 1 series, got 2"));
        assert_eq!(reduce_range(&series[..1], None).unwrap(), [(Ts(10_000), 1.0), (Ts(12_000), 2.0)]);
        assert!(reduce_range(&[], None).unwrap().is_empty());
        let e = decode_matrix(&json!({"resultType":"vector","result":[]})).unwrap_err();
        assert!(e.to_string().contains("other than a matrix"), "{e}");
    }

    #[test]
    fn alerts_decode_with_state_summary_and_value() {
        let body = json!({"alerts":[
            {"labels":{"alertname":"HighErrors","team":"payments"},"annotations":{"summary":"errors > 5%"},
             "state":"firing","activeAt":"2026-11-26T16:33:50.57622353Z","value":"1e+00"},
            {"labels":{"alertname":"Slow"},"annotations":{"description":"p95 high"},"state":"pending"}]});
        let a = decode_alerts(&body).unwrap();
        assert_eq!(a[0].name, "HighErrors");
        assert_eq!(a[0].state, AlertState::Firing);
        assert_eq!(a[0].summary.as_deref(), Some("errors > 5%"));
        assert_eq!(a[0].active_at.as_deref(), Some("2026-11-26T16:33:50.57622353Z"));
        assert_eq!(a[0].value.as_deref(), Some("1e+00"));
        assert_eq!(a[0].labels["team"], "payments");
        assert_eq!(
            (a[1].state, a[1].summary.as_deref(), a[1].value.as_deref()),
            (AlertState::Pending, Some("p95 high"), None)
        );
        let e = decode_alerts(&json!({"alerts":[{"labels":{},"state":"weird"}]})).unwrap_err();
        assert!(e.to_string().contains("unknown alert state \"weird\""), "{e}");
    }

    #[test]
    fn outside_strings_are_bounded() {
        let big = "x".repeat(1 << 20);
        let body = format!(r#"{{"status":"error","errorType":"execution","error":"{big}"}}"#);
        let e = decode_envelope(422, &body, false, URL).unwrap_err().to_string();
        assert!(e.len() < 400 && e.ends_with(&format!("({} bytes more)", (1 << 20) - MAX_CHARS)), "{}", e.len());
        let labels = |v: &str| [("a".to_string(), v.to_string()), ("b".to_string(), v.to_string())].into();
        let r = InstantResult::Vector(vec![
            Sample { labels: labels(&big), value: 1.0 },
            Sample { labels: labels(&big), value: 2.0 },
        ]);
        let e = reduce_instant(&r, None).unwrap_err().to_string();
        assert!(e.len() < 1000 && e.contains("bytes more"), "{}", e.len());
        let alerts =
            json!({"alerts":[{"labels":{"alertname":"A","x":big},"annotations":{"summary":big},"state":"firing"}]});
        let a = decode_alerts(&alerts).unwrap();
        assert!(a[0].summary.as_ref().unwrap().len() < 400 && a[0].labels["x"].len() < 400);
    }

    #[test]
    fn shown_urls_drop_credentials_and_queries() {
        let u = reqwest::Url::parse("https://user:pw@prom:9090/api/v1/query?query=up#x").unwrap();
        assert_eq!(shown_url(&u), "https://prom:9090/api/v1/query");
    }
}
