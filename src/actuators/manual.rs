//! The operator moves traffic elsewhere (a console, a ticket) and confirms in cutover.

use super::{Applied, Request};

pub const DEFAULT_INSTRUCTION: &str =
    "Set the router to blue {blue} / green {green} (stage {stage}), then confirm here once it is done.";

#[derive(Debug, Clone)]
pub struct Manual {
    /// Instruction template.
    pub instruction: String,
}

impl Default for Manual {
    fn default() -> Self {
        Manual { instruction: DEFAULT_INSTRUCTION.to_string() }
    }
}

impl Manual {
    pub fn new(instruction: Option<&str>) -> Self {
        Manual { instruction: instruction.unwrap_or(DEFAULT_INSTRUCTION).to_string() }
    }

    pub fn apply(&self, req: &Request) -> Applied {
        Applied::NeedsConfirmation { instruction: req.render(&self.instruction) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::env::Weights;

    #[test]
    fn the_instruction_names_the_weights() {
        let req = Request { weights: Weights { blue: 25, green: 75 }, stage: "2".into(), key: "k".into() };
        assert_eq!(
            Manual::default().apply(&req),
            Applied::NeedsConfirmation {
                instruction: "Set the router to blue 25 / green 75 (stage 2), then confirm here once it is done."
                    .into()
            }
        );
    }
}
