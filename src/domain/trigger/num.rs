//! Serde for `f64` fields that may hold `±Inf` or `NaN` (a P95 in the `+Inf` bucket is a real
//! reading): finite numbers stay numbers, the rest are written as `"+Inf"`, `"-Inf"`, `"NaN"`.
//! Plain serde_json would write `null` and then refuse to read it back.

use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if v.is_nan() {
        s.serialize_str("NaN")
    } else if *v > 0.0 {
        s.serialize_str("+Inf")
    } else {
        s.serialize_str("-Inf")
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Num {
    F(f64),
    S(String),
}

fn from_num<E: serde::de::Error>(n: Num) -> Result<f64, E> {
    match n {
        Num::F(v) => Ok(v),
        Num::S(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "+Inf" | "Inf" => Ok(f64::INFINITY),
            "-Inf" => Ok(f64::NEG_INFINITY),
            other => {
                Err(E::custom(format!("{other:?} is not a number; expected a number, \"+Inf\", \"-Inf\" or \"NaN\"")))
            }
        },
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    from_num(Num::deserialize(d)?)
}

/// The same for `Option<f64>` (use with `#[serde(default, with = "num::opt")]`).
pub mod opt {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<Num>::deserialize(d)?.map(from_num).transpose()
    }
}
