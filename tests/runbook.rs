//! The runbook: parser, write-back, gates, the file store and `cutover runbook`.

use std::path::{Path, PathBuf};

use cutover::domain::runbook::{
    GateState, MAX_DEPTH, Runbook, RunbookError, Task, WriteError, find, gate_status, parse, reapply, set_done,
};

const SEED: &[u8] = include_bytes!("fixtures/runbook/go-live-tasks.md");
const DOUBLE_ENCODED: &[u8] = include_bytes!("fixtures/runbook/000_37e4a50b8aaa2b8d.txt");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runbook").join(name)).unwrap()
}

fn ids(tasks: &[Task]) -> Vec<&str> {
    tasks.iter().map(|t| t.id.as_deref().unwrap_or("-")).collect()
}

fn all_ids(rb: &Runbook) -> Vec<&str> {
    rb.tasks().map(|t| t.id.as_deref().unwrap_or("-")).collect()
}

/// A fresh, empty directory under the target dir for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("runbook-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Lines that differ between two texts of the same line count: (1-based line, old, new).
fn changed_lines<'a>(old: &'a str, new: &'a str) -> Vec<(usize, &'a str, &'a str)> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.split('\n').collect(), new.split('\n').collect());
    assert_eq!(a.len(), b.len(), "line count changed");
    a.iter().zip(&b).enumerate().filter(|(_, (x, y))| x != y).map(|(i, (x, y))| (i + 1, *x, *y)).collect()
}

/// What every successful parse must satisfy, whatever the input.
fn check_invariants(bytes: &[u8], rb: &Runbook) {
    for task in rb.tasks() {
        let at = task.checkbox;
        assert!(at >= 1 && at + 1 < bytes.len(), "checkbox {at} out of range");
        assert_eq!((bytes[at - 1], bytes[at + 1]), (b'[', b']'), "checkbox {at} is not inside [ ]");
        assert!(matches!(bytes[at], b' ' | b'x' | b'X'));
        assert_eq!(task.done, bytes[at] != b' ');
        assert_eq!(task.line, 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count());
        for child in &task.children {
            assert!(child.line > task.line);
        }
    }
    fn depth(t: &Task) -> usize {
        1 + t.children.iter().map(depth).max().unwrap_or(0)
    }
    let deepest = rb.phases.iter().flat_map(|p| &p.sections).flat_map(|s| &s.tasks).map(depth).max();
    assert!(deepest.unwrap_or(0) <= MAX_DEPTH);
    for phase in &rb.phases {
        assert!(phase.tasks().next().is_some(), "phase {:?} holds no task", phase.title);
        assert!(phase.sections.iter().all(|s| !s.tasks.is_empty()));
    }
}

/// Toggle every task and toggle it back: the original bytes (an `X` comes back as `x`).
fn check_round_trips(bytes: &[u8], rb: &Runbook, limit: usize) {
    for task in rb.tasks().take(limit) {
        let flipped = set_done(bytes, task, !task.done).unwrap();
        let diff: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] != flipped[i]).collect();
        assert_eq!(diff, [task.checkbox], "toggling line {} changed other bytes", task.line);
        let back = set_done(&flipped, task, task.done).unwrap();
        if bytes[task.checkbox] == b'X' {
            let mut expected = bytes.to_vec();
            expected[task.checkbox] = b'x';
            assert_eq!(back, expected);
        } else {
            assert_eq!(back, bytes, "round trip of line {}", task.line);
        }
    }
}

mod seed {
    use super::*;

    /// The shape both seeds must parse to.
    fn assert_seed_shape(bytes: &[u8]) {
        let rb = parse(bytes).unwrap();
        check_invariants(bytes, &rb);
        assert_eq!(rb.title.as_deref(), Some("Tasks: Production Deployment & Go-Live"));

        let titles: Vec<&str> = rb.phases.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles.len(), 11, "{titles:?}");
        for (i, title) in titles[..10].iter().enumerate() {
            assert!(title.starts_with(&format!("Phase 10.{}: ", i + 1)), "{title}");
        }
        assert_eq!(titles[10], "Validation Checklist");
        assert_eq!(rb.phases[0].title, "Phase 10.1: Pre-Deployment Preparation");
        assert_eq!(rb.phases[0].line, 26);

        // 154 top-level tasks with IDs, T1137..=T1290 in order.
        let top: Vec<&Task> = rb.phases.iter().flat_map(|p| &p.sections).flat_map(|s| &s.tasks).collect();
        let with_id: Vec<&str> = top.iter().filter_map(|t| t.id.as_deref()).collect();
        let expected: Vec<String> = (1137..=1290).map(|n| format!("T{n}")).collect();
        assert_eq!(with_id.len(), 154);
        assert_eq!(with_id, expected);

        // 5 sub-tasks, all under T1180.
        let t1180 = find(&rb, "T1180").unwrap();
        assert_eq!(ids(&t1180.children), ["T1180a", "T1180b", "T1180c", "T1180d", "T1180e"]);
        assert_eq!(t1180.children[0].text, "Deploy AcquisitionService");
        assert_eq!(top.iter().map(|t| t.children.len()).sum::<usize>(), 5);

        // 9 done items without IDs under Validation Checklist, nothing else without an ID.
        let checklist: Vec<&Task> = rb.phases[10].tasks().collect();
        assert_eq!(checklist.len(), 9);
        assert!(checklist.iter().all(|t| t.id.is_none() && t.done));
        assert_eq!(rb.phases[10].sections[0].title, None);
        assert_eq!(rb.tasks().filter(|t| t.id.is_none()).count(), 9);
        assert_eq!(rb.progress(), (9, 168));

        // Exactly the `- [ ]` lines are tasks: none from the fenced blocks or the ✅ lines.
        let text = std::str::from_utf8(bytes).unwrap();
        let checkbox_lines: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| ["- [ ] ", "- [x] "].iter().any(|p| l.trim_start().starts_with(p)))
            .map(|(i, _)| i + 1)
            .collect();
        let task_lines: Vec<usize> = rb.tasks().map(|t| t.line).collect();
        assert_eq!(task_lines, checkbox_lines);
        let mut in_fence = false;
        for (i, line) in text.lines().enumerate() {
            in_fence ^= line.starts_with("```");
            if in_fence || line.contains("✅") || line.contains("âœ…") {
                assert!(!task_lines.contains(&(i + 1)), "line {} read as a task", i + 1);
            }
        }

        // Per-phase progress, sub-tasks included.
        let progress: Vec<(usize, usize)> = rb.phases.iter().map(|p| p.progress()).collect();
        let totals: Vec<usize> = progress.iter().map(|p| p.1).collect();
        assert_eq!(totals, [26, 12, 19, 23, 21, 6, 15, 12, 10, 15, 9]);

        // Dependencies: 10.1 … 10.10 in order, the checklist not in it.
        assert_eq!(rb.order, titles[..10].to_vec());

        let t1189 = find(&rb, "T1189").unwrap();
        assert!(t1189.parallel);
        assert_eq!(t1189.text, "Smoke test: User authentication");
        assert!(!find(&rb, "T1194").unwrap().parallel);
        assert_eq!(find(&rb, "T1137").unwrap().line, 29);
    }

    #[test]
    fn seed_parses_to_eleven_phases_and_168_tasks() {
        assert_seed_shape(SEED);
    }

    #[test]
    fn config_copy_is_the_seed() {
        assert_eq!(
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/runbooks/go-live.md")).unwrap(),
            SEED
        );
    }

    #[test]
    fn double_encoded_original_parses_the_same() {
        assert_seed_shape(DOUBLE_ENCODED);
    }

    #[test]
    fn double_encoded_text_is_shown_as_it_is() {
        let rb = parse(DOUBLE_ENCODED).unwrap();
        assert_eq!(find(&rb, "T1269").unwrap().text, "Celebrate with team! ðŸŽ‰");
        assert_eq!(find(&rb, "T1202").unwrap().text, "Validate query latency targets (P95 â‰¤2.0s)");
        let seed = parse(SEED).unwrap();
        assert_eq!(find(&seed, "T1269").unwrap().text, "Celebrate with team! 🎉");
    }

    #[test]
    fn tick_t1137_changes_exactly_that_line() {
        let rb = parse(SEED).unwrap();
        let out = set_done(SEED, find(&rb, "T1137").unwrap(), true).unwrap();
        let (old, new) = (std::str::from_utf8(SEED).unwrap(), std::str::from_utf8(&out).unwrap());
        assert_eq!(
            changed_lines(old, new),
            [(
                29,
                "- [ ] T1137 Verify all integration tests passing",
                "- [x] T1137 Verify all integration tests passing"
            )]
        );
        let after = parse(&out).unwrap();
        assert!(find(&after, "T1137").unwrap().done);
        assert_eq!(after.progress(), (10, 168));
    }

    #[test]
    fn every_seed_task_round_trips() {
        for bytes in [SEED, DOUBLE_ENCODED] {
            let rb = parse(bytes).unwrap();
            check_round_trips(bytes, &rb, usize::MAX);
        }
    }

    #[test]
    fn gates_on_the_seed() {
        let rb = parse(SEED).unwrap();
        let ids: Vec<String> = ["T1212", "T1180c", "T9999"].iter().map(|s| s.to_string()).collect();
        let states: Vec<GateState> = gate_status(&rb, &ids).into_iter().map(|(_, s)| s).collect();
        assert_eq!(states, [GateState::Open, GateState::Open, GateState::Missing]);
        let ticked = reapply(SEED, "T1212", true).unwrap();
        let states: Vec<GateState> = gate_status(&parse(&ticked).unwrap(), &ids).into_iter().map(|(_, s)| s).collect();
        assert_eq!(states, [GateState::Done, GateState::Open, GateState::Missing]);
    }
}

mod forms {
    use super::*;

    #[test]
    fn title_phases_and_sections() {
        let md = "# My Runbook\n\n## Intro\nprose only\n\n## Phase 1: Prep\n- [ ] T1 direct\n### Checks\n- [ ] T2 a\n### Empty\n\
                  ## Notes\n- plain bullet\n## Phase 2\n### Deep\n#### Deeper\n- [ ] T3 b\n";
        let rb = parse(md.as_bytes()).unwrap();
        assert_eq!(rb.title.as_deref(), Some("My Runbook"));
        let titles: Vec<&str> = rb.phases.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Phase 1: Prep", "Phase 2"], "headings holding no tasks are not phases");
        assert_eq!(rb.phases[0].line, 6);
        let sections: Vec<Option<&str>> = rb.phases[0].sections.iter().map(|s| s.title.as_deref()).collect();
        assert_eq!(sections, [None, Some("Checks")], "empty sections are dropped");
        assert_eq!(rb.phases[1].sections[0].title.as_deref(), Some("Deeper"));
    }

    #[test]
    fn tasks_before_any_phase_heading() {
        let rb = parse(b"- [ ] T1 loose\n").unwrap();
        assert_eq!((rb.title.as_deref(), rb.phases[0].title.as_str(), rb.phases[0].line), (None, "Tasks", 1));
        let rb = parse(b"# Checklist\n- [ ] T1 under the title\n## Phase\n- [ ] T2 b\n").unwrap();
        let titles: Vec<&str> = rb.phases.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Checklist", "Phase"]);
    }

    #[test]
    fn checkbox_states() {
        let rb = parse(b"## P\n- [ ] open\n- [x] done\n- [X] done too\n- [y] not a task\n- [] not a task\n").unwrap();
        let done: Vec<bool> = rb.tasks().map(|t| t.done).collect();
        assert_eq!(done, [false, true, true]);
    }

    #[test]
    fn id_forms_tags_and_bullets() {
        let bytes = fixture("forms.md");
        let rb = parse(&bytes).unwrap();
        check_invariants(&bytes, &rb);
        assert_eq!(
            all_ids(&rb),
            ["T012a", "T002", "T071", "T001", "T003", "T004", "T005", "T006", "T007", "T008", "-"]
        );
        let texts: Vec<&str> = rb.tasks().map(|t| t.text.as_str()).collect();
        assert_eq!(texts[..4], ["Lower-case suffix", "Bold ID", "Bracketed ID", "Colon after the ID"]);
        assert_eq!(texts[10], "Task without an ID");
        let t = |id| find(&rb, id).unwrap();
        assert_eq!((t("T003").parallel, t("T003").tags.clone(), t("T003").done), (true, vec!["US1".to_string()], true));
        assert_eq!((t("T004").parallel, t("T004").tags.clone(), t("T004").done), (true, vec!["US1".to_string()], true));
        assert_eq!((t("T005").parallel, t("T005").tags.clone()), (false, vec!["P1".to_string()]));
        assert_eq!(t("T005").text, "Priority, not parallel");
        assert_eq!(
            (t("T006").text.as_str(), t("T007").done, t("T008").text.as_str()),
            ("Star bullet", true, "Ordered item")
        );
        assert_eq!(rb.tasks().filter(|t| t.parallel).count(), 2);
    }

    #[test]
    fn sub_tasks_nest_by_spaces_tabs_and_any_deeper_indent() {
        let bytes = fixture("nested.md");
        let rb = parse(&bytes).unwrap();
        check_invariants(&bytes, &rb);
        let top = &rb.phases[0].sections[0].tasks;
        assert_eq!(ids(top), ["T10", "T20", "T30", "T40", "T50"]);
        assert_eq!(ids(&top[0].children), ["T11", "T13"]);
        assert_eq!(ids(&top[0].children[0].children), ["T12"]);
        assert_eq!(ids(&top[1].children), ["T21"]);
        assert_eq!(ids(&top[1].children[0].children), ["T22"]);
        assert_eq!(ids(&top[2].children), ["T31"]);
        assert_eq!(ids(&top[2].children[0].children), ["T32"]);
        assert_eq!(ids(&top[3].children), ["T41"]);
        assert_eq!(ids(&top[3].children[0].children), ["T42"]);
        assert!(top[4].children.is_empty());
        assert_eq!(rb.phases[0].progress(), (0, 14));
    }

    #[test]
    fn nesting_is_capped() {
        let md: String = (0..100).map(|i| format!("{}- [ ] T{i} level {i}\n", " ".repeat(i))).collect();
        let rb = parse(md.as_bytes()).unwrap();
        check_invariants(md.as_bytes(), &rb);
        assert_eq!(rb.tasks().count(), 100);
    }

    #[test]
    fn fenced_blocks_and_comments_hold_no_tasks() {
        let bytes = fixture("fences.md");
        let rb = parse(&bytes).unwrap();
        check_invariants(&bytes, &rb);
        assert_eq!(all_ids(&rb), ["T1", "T8", "T9"]);
        assert_eq!(rb.phases.len(), 1);
    }

    #[test]
    fn continuation_lines_join_the_task_text() {
        let md = "## P\n- [ ] T1 Deploy the gateway\n  with the canary flag\n  - [ ] T1a Check it\n    and its logs\n  \
                  and tell the room\n\n  after a blank line too\nnot indented: not part of it\n  nor this\n- [ ] T2 next\n";
        let rb = parse(md.as_bytes()).unwrap();
        let t1 = find(&rb, "T1").unwrap();
        assert_eq!(t1.text, "Deploy the gateway with the canary flag and tell the room after a blank line too");
        assert_eq!(find(&rb, "T1a").unwrap().text, "Check it and its logs");
        assert_eq!(find(&rb, "T2").unwrap().text, "next");
        // A non-task bullet under a task is a continuation too.
        let rb = parse(b"## P\n- [ ] T1 a\n  - note: watch the p95\n").unwrap();
        assert_eq!(rb.tasks().next().unwrap().text, "a - note: watch the p95");
    }

    #[test]
    fn crlf_and_bom() {
        let bytes = b"\xEF\xBB\xBF# Title\r\n\r\n## Phase\r\n- [ ] T1 first\r\n  - [x] T1a child\r\n";
        let rb = parse(bytes).unwrap();
        check_invariants(bytes, &rb);
        assert_eq!(rb.title.as_deref(), Some("Title"));
        let t1 = find(&rb, "T1").unwrap();
        assert_eq!((t1.text.as_str(), t1.line, t1.checkbox), ("first", 4, 27));
        assert_eq!(bytes[t1.checkbox], b' ');
        assert_eq!(t1.children[0].text, "child");
        let out = set_done(bytes, t1, true).unwrap();
        assert_eq!(out, b"\xEF\xBB\xBF# Title\r\n\r\n## Phase\r\n- [x] T1 first\r\n  - [x] T1a child\r\n");
    }

    #[test]
    fn tabs_emoji_and_any_utf8() {
        let md = "## Fase 1 — Préparation 🚀\n-\t[ ]\tT1\t[P]\tVérifier 日本語 🎉\n";
        let rb = parse(md.as_bytes()).unwrap();
        check_invariants(md.as_bytes(), &rb);
        assert_eq!(rb.phases[0].title, "Fase 1 — Préparation 🚀");
        let t = find(&rb, "T1").unwrap();
        assert_eq!((t.text.as_str(), t.parallel), ("Vérifier 日本語 🎉", true));
    }

    #[test]
    fn invalid_utf8_names_offset_and_line() {
        let err = parse(b"## P\n- [ ] T1 ok\n- [ ] T2 caf\xE9\n").unwrap_err();
        assert_eq!(err, RunbookError::InvalidUtf8 { offset: 29, line: 3 });
        assert_eq!((err.line(), err.offset()), (3, 29));
        assert!(err.to_string().contains("byte 29"), "{err}");
        // Offsets count the BOM.
        assert_eq!(parse(b"\xEF\xBB\xBF\xFF").unwrap_err(), RunbookError::InvalidUtf8 { offset: 3, line: 1 });
        assert_eq!(parse(b"ok\n\xC3").unwrap_err(), RunbookError::InvalidUtf8 { offset: 3, line: 2 });
    }

    #[test]
    fn empty_input() {
        let rb = parse(b"").unwrap();
        assert_eq!((rb.title, rb.phases.len(), rb.order.len()), (None, 0, 0));
    }
}

mod dependencies {
    use super::*;

    const PHASES: &str = "## Phase 1: Alpha Prep\n- [ ] T10 a\n## Phase 2: Beta Build\n- [ ] T20 b\n- [ ] T21 c\n\
                          ## Phase 3: Gamma Go\n- [ ] T30 d\n";

    fn order(deps: &str) -> Vec<String> {
        parse(format!("{PHASES}## Dependencies\n{deps}\n").as_bytes()).unwrap().order
    }

    #[test]
    fn seed_form_with_ranges_and_names() {
        let deps = "```\nGamma (T30-T30) → Alpha (T10-T10)\nAlpha → Beta (T20-T21)\n```";
        assert_eq!(order(deps), ["Phase 3: Gamma Go", "Phase 1: Alpha Prep", "Phase 2: Beta Build"]);
    }

    #[test]
    fn double_encoded_arrow() {
        let deps = "```\nBeta Build (T20-T21) \u{e2}\u{2020}\u{2019} Alpha Prep (T10)\n```";
        assert_eq!(order(deps), ["Phase 2: Beta Build", "Phase 1: Alpha Prep"]);
    }

    #[test]
    fn unparseable_sections_give_an_empty_order() {
        assert!(order("Alpha comes first, then whatever feels right.").is_empty());
        assert!(order("```\nUnknown → Nobody\n```").is_empty());
        assert!(order("Alpha → Beta → Alpha").is_empty(), "a cycle has no order");
        assert!(order("```\nnever closed → Alpha").is_empty());
    }

    #[test]
    fn phases_not_named_are_left_out() {
        assert_eq!(order("- Gamma → Alpha"), ["Phase 3: Gamma Go", "Phase 1: Alpha Prep"]);
    }
}

mod write_back {
    use super::*;

    #[test]
    fn stale_task_is_refused_then_reapplied_by_id() {
        let rb = parse(SEED).unwrap();
        let t1137 = find(&rb, "T1137").unwrap();
        let edited = [b"<!-- edited -->\n".as_slice(), SEED].concat();
        assert!(matches!(set_done(&edited, t1137, true), Err(WriteError::Stale { line: 29, .. })));
        let out = reapply(&edited, "T1137", true).unwrap();
        let (old, new) = (std::str::from_utf8(&edited).unwrap(), std::str::from_utf8(&out).unwrap());
        assert_eq!(changed_lines(old, new).len(), 1);
        assert!(find(&parse(&out).unwrap(), "T1137").unwrap().done);
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    struct GenTask {
        indent: &'static str,
        bullet: &'static str,
        mark: char,
        id: Option<(u32, &'static str, usize)>,
        tags: Vec<&'static str>,
        parallel_at: Option<usize>,
        text: String,
    }

    #[derive(Debug, Clone)]
    enum Frag {
        Heading(usize, String),
        Task(GenTask),
        Prose(String),
        Continuation(&'static str, String),
        Blank,
        Fenced(&'static str, Vec<&'static str>),
        Comment,
    }

    fn render_id((n, suffix, form): (u32, &str, usize)) -> String {
        let id = format!("T{n}{suffix}");
        match form {
            0 => id,
            1 => format!("{id}:"),
            2 => format!("**{id}**"),
            3 => format!("[{id}]"),
            _ => format!("`{id}`"),
        }
    }

    impl GenTask {
        fn id(&self) -> Option<String> {
            self.id.map(|(n, s, _)| format!("T{n}{s}"))
        }

        fn render(&self) -> String {
            let mut parts: Vec<String> = self.id.map(render_id).into_iter().collect();
            let mut tags: Vec<String> = self.tags.iter().map(|t| format!("[{t}]")).collect();
            if let Some(at) = self.parallel_at {
                tags.insert(at.min(tags.len()), "[P]".to_string());
            }
            parts.extend(tags);
            if !self.text.is_empty() {
                parts.push(self.text.clone());
            }
            format!("{}{} [{}] {}", self.indent, self.bullet, self.mark, parts.join(" "))
        }
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9 éü🎉→]{0,20}".prop_map(|s| s.trim_end().to_string())
    }

    fn task() -> impl Strategy<Value = GenTask> {
        (
            prop::sample::select(vec!["", " ", "  ", "    ", "\t", "  \t", "        "]),
            prop::sample::select(vec!["-", "*", "+", "1.", "2)"]),
            prop::sample::select(vec![' ', 'x', 'X']),
            prop::option::of((1u32..100_000, prop::sample::select(vec!["", "a", "b", "ab"]), 0usize..5)),
            prop::collection::vec(prop::sample::select(vec!["US1", "US2", "P1", "Story", "x9"]), 0..3),
            prop::option::of(0usize..3),
            prop_oneof![Just(String::new()), text()],
        )
            .prop_map(|(indent, bullet, mark, id, tags, parallel_at, text)| GenTask {
                indent,
                bullet,
                mark,
                id,
                tags,
                parallel_at,
                text,
            })
    }

    fn frag() -> impl Strategy<Value = Frag> {
        prop_oneof![
            2 => (1usize..5, text()).prop_map(|(l, t)| Frag::Heading(l, t)),
            8 => task().prop_map(Frag::Task),
            1 => text().prop_map(Frag::Prose),
            2 => (prop::sample::select(vec!["  ", "    ", "\t"]), text()).prop_map(|(i, t)| Frag::Continuation(i, t)),
            2 => Just(Frag::Blank),
            1 => (
                prop::sample::select(vec!["```", "~~~", "````", "```md"]),
                prop::collection::vec(prop::sample::select(vec!["- [ ] T1 in a fence", "## not a phase", "  - [x] x", ""]), 0..4),
            )
                .prop_map(|(f, body)| Frag::Fenced(f, body)),
            1 => Just(Frag::Comment),
        ]
    }

    fn document() -> impl Strategy<Value = (Vec<Frag>, bool, bool)> {
        (prop::collection::vec(frag(), 0..40), any::<bool>(), any::<bool>())
    }

    fn render(frags: &[Frag], crlf: bool, bom: bool) -> Vec<u8> {
        let mut lines: Vec<String> = Vec::new();
        for f in frags {
            match f {
                Frag::Heading(level, t) => lines.push(format!("{} {t}", "#".repeat(*level))),
                Frag::Task(t) => lines.push(t.render()),
                Frag::Prose(t) => lines.push(t.clone()),
                Frag::Continuation(indent, t) => lines.push(format!("{indent}{t}")),
                Frag::Blank => lines.push(String::new()),
                Frag::Fenced(fence, body) => {
                    lines.push(fence.to_string());
                    lines.extend(body.iter().map(|l| l.to_string()));
                    lines.push(fence.trim_end_matches("md").to_string());
                }
                Frag::Comment => lines.extend(["<!--", "- [ ] T2 commented out", "-->"].map(String::from)),
            }
        }
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut out = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        for line in lines {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(eol.as_bytes());
        }
        out
    }

    /// Markdown-ish pieces to build hostile input from.
    const FRAGMENTS: &[&str] = &[
        "- [ ] ",
        "- [x] ",
        "* [X] ",
        "+ [",
        "]",
        "[",
        " ",
        "  ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "#",
        "## ",
        "### ",
        "```",
        "~~~",
        "<!--",
        "-->",
        "T1",
        "T1180a",
        "**T2**",
        "[T3]",
        "T4:",
        "[P]",
        "[P1]",
        "[US1]",
        "(T1-T9)",
        "→",
        "->",
        "\u{e2}\u{2020}\u{2019}",
        "## Dependencies\n",
        "All ",
        "Phase ",
        "1. ",
        "é",
        "🎉",
        "\u{feff}",
        "\u{0}",
        "x",
        "text",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn generated_runbooks_parse_as_generated((frags, crlf, bom) in document()) {
            let bytes = render(&frags, crlf, bom);
            let rb = parse(&bytes).unwrap();
            check_invariants(&bytes, &rb);
            let expected: Vec<&GenTask> = frags.iter().filter_map(|f| match f { Frag::Task(t) => Some(t), _ => None }).collect();
            let got: Vec<&Task> = rb.tasks().collect();
            prop_assert_eq!(got.len(), expected.len());
            for (t, e) in got.iter().zip(&expected) {
                prop_assert_eq!(&t.id, &e.id());
                prop_assert_eq!(t.done, e.mark != ' ');
                prop_assert_eq!(t.parallel, e.parallel_at.is_some());
                prop_assert_eq!(&t.tags, &e.tags.iter().map(|s| s.to_string()).collect::<Vec<_>>());
                prop_assert!(t.text.starts_with(e.text.as_str()), "{:?} vs {:?}", t.text, e.text);
            }
            check_round_trips(&bytes, &rb, usize::MAX);
        }

        #[test]
        fn parse_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(rb) = parse(&bytes) {
                check_invariants(&bytes, &rb);
                check_round_trips(&bytes, &rb, 8);
            }
        }

        #[test]
        fn parse_never_panics_on_markdownish_text(pieces in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..120)) {
            let text = pieces.concat();
            let rb = parse(text.as_bytes()).unwrap();
            check_invariants(text.as_bytes(), &rb);
            check_round_trips(text.as_bytes(), &rb, 8);
        }

        #[test]
        fn parse_never_panics_on_a_mangled_seed(edits in prop::collection::vec((0usize..13_058, any::<u8>(), 0u8..3), 1..8)) {
            let mut bytes = SEED.to_vec();
            for (at, byte, how) in edits {
                let at = at.min(bytes.len());
                match how {
                    0 => bytes.insert(at, byte),
                    1 if at < bytes.len() => { bytes.remove(at); }
                    _ if at < bytes.len() => bytes[at] = byte,
                    _ => {}
                }
            }
            if let Ok(rb) = parse(&bytes) {
                check_invariants(&bytes, &rb);
            }
        }

        #[test]
        fn seed_ticks_undone_give_the_seed_back(ops in prop::collection::vec((0usize..168, any::<bool>()), 1..24)) {
            let rb = parse(SEED).unwrap();
            let tasks: Vec<&Task> = rb.tasks().collect();
            let mut bytes = SEED.to_vec();
            for &(i, done) in &ops {
                bytes = set_done(&bytes, tasks[i], done).unwrap();
                prop_assert_eq!(parse(&bytes).unwrap().tasks().nth(i).map(|t| t.done), Some(done));
            }
            let mut touched: Vec<usize> = ops.iter().map(|&(i, _)| i).collect();
            touched.sort_unstable();
            touched.dedup();
            for i in touched {
                bytes = set_done(&bytes, tasks[i], tasks[i].done).unwrap();
            }
            prop_assert!(bytes == SEED);
        }
    }
}

mod file {
    use super::*;
    use cutover::store::runbook_file::{RunbookFile, RunbookFileError, TickOutcome};

    fn seed_file(test: &str) -> PathBuf {
        let path = temp_dir(test).join("go-live.md");
        std::fs::write(&path, SEED).unwrap();
        path
    }

    #[test]
    fn tick_writes_one_byte() {
        let path = seed_file("tick");
        let mut file = RunbookFile::load(&path).unwrap();
        let outcome = file.tick("T1137", true).unwrap();
        assert_eq!(outcome, TickOutcome { concurrent_edit: false, written: true, line: 29 });
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(on_disk, file.bytes());
        let diff: Vec<usize> = (0..SEED.len()).filter(|&i| SEED[i] != on_disk[i]).collect();
        assert_eq!(diff.len(), 1);
        assert!(file.runbook().find("T1137").unwrap().done);
        // Again: nothing to write.
        assert_eq!(file.tick("T1137", true).unwrap(), TickOutcome { concurrent_edit: false, written: false, line: 29 });
        file.tick("T1137", false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), SEED);
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp files left behind");
    }

    #[test]
    fn concurrent_edit_is_kept_and_the_tick_reapplied() {
        let path = seed_file("concurrent");
        let mut file = RunbookFile::load(&path).unwrap();
        // Someone edits another line meanwhile (and shifts every offset by adding a line above).
        let edited = std::str::from_utf8(SEED)
            .unwrap()
            .replace(
                "- [ ] T1138 Verify all E2E tests passing",
                "- [x] T1138 Verify all E2E tests passing (done by bob)",
            )
            .replace("**Input**:", "**Owner**: bob\n**Input**:");
        std::fs::write(&path, &edited).unwrap();
        assert!(file.changed_on_disk().unwrap());

        let outcome = file.tick("T1137", true).unwrap();
        assert_eq!(outcome, TickOutcome { concurrent_edit: true, written: true, line: 30 });
        let on_disk = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            changed_lines(&edited, &on_disk),
            [(
                30,
                "- [ ] T1137 Verify all integration tests passing",
                "- [x] T1137 Verify all integration tests passing"
            )]
        );
        assert!(on_disk.contains("(done by bob)") && on_disk.contains("**Owner**: bob"));
        assert!(!file.changed_on_disk().unwrap());
        assert!(file.runbook().find("T1138").unwrap().done);
    }

    #[test]
    fn tick_of_a_task_removed_meanwhile_writes_nothing() {
        let path = seed_file("removed");
        let mut file = RunbookFile::load(&path).unwrap();
        let edited =
            std::str::from_utf8(SEED).unwrap().replace("- [ ] T1137 Verify all integration tests passing\n", "");
        std::fs::write(&path, &edited).unwrap();
        let err = file.tick("T1137", true).unwrap_err();
        assert!(matches!(err, RunbookFileError::Task { source: WriteError::NotFound { .. }, .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    }

    #[test]
    fn tick_task_without_an_id() {
        let path = seed_file("no-id");
        let mut file = RunbookFile::load(&path).unwrap();
        let task = file.runbook().phases[10].tasks().nth(2).unwrap().clone();
        assert_eq!(task.text, "All smoke tests passing");
        let outcome = file.tick_task(&task, false).unwrap();
        assert!(outcome.written && !outcome.concurrent_edit);
        assert!(std::fs::read_to_string(&path).unwrap().contains("\n- [ ] All smoke tests passing\n"));
        // After an edit above it, found again by its text.
        let edited = format!("<!-- note -->\n{}", std::fs::read_to_string(&path).unwrap());
        std::fs::write(&path, &edited).unwrap();
        let outcome = file.tick_task(&task, true).unwrap();
        assert!(outcome.written && outcome.concurrent_edit);
        assert!(std::fs::read_to_string(&path).unwrap().contains("\n- [x] All smoke tests passing\n"));
    }

    #[cfg(unix)]
    #[test]
    fn writes_through_symlinks_and_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let path = seed_file("symlink");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = path.with_file_name("link.md");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let mut file = RunbookFile::load(&link).unwrap();
        file.tick("T1290", true).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert!(std::fs::read_to_string(&path).unwrap().contains("- [x] T1290"));
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    }

    #[test]
    fn load_errors_say_where() {
        let dir = temp_dir("load-errors");
        let err = RunbookFile::load(dir.join("missing.md")).unwrap_err();
        assert!(matches!(err, RunbookFileError::Read { .. }));
        let bad = dir.join("bad.md");
        std::fs::write(&bad, b"## P\n- [ ] T1 \xFF\n").unwrap();
        let err = RunbookFile::load(&bad).unwrap_err();
        assert!(err.to_string().starts_with(&format!("{}:2: invalid UTF-8 at byte 14", bad.display())), "{err}");
    }

    #[test]
    fn reload_sees_edits() {
        let path = seed_file("reload");
        let mut file = RunbookFile::load(&path).unwrap();
        assert!(!file.reload().unwrap());
        std::fs::write(&path, b"## P\n- [x] T1 only\n").unwrap();
        assert!(file.reload().unwrap());
        assert_eq!(file.runbook().progress(), (1, 1));
    }
}

mod cli {
    use super::*;
    use std::process::Command;

    fn cutover(args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_cutover")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
    }

    #[test]
    fn json_has_the_documented_shape() {
        let out = cutover(&["runbook", "config/runbooks/go-live.md", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["title"], "Tasks: Production Deployment & Go-Live");
        let phases = v["phases"].as_array().unwrap();
        assert_eq!(phases.len(), 11);
        assert_eq!(phases[0]["title"], "Phase 10.1: Pre-Deployment Preparation");
        assert_eq!(phases[0]["sections"][0]["title"], "Final Validation");
        let first = &phases[0]["sections"][0]["tasks"][0];
        assert_eq!(
            *first,
            serde_json::json!({"id": "T1137", "text": "Verify all integration tests passing", "done": false,
                               "parallel": false, "tags": [], "line": 29, "children": []})
        );
        let checklist = &phases[10]["sections"][0];
        assert!(checklist["title"].is_null());
        assert_eq!(checklist["tasks"].as_array().unwrap().len(), 9);
        assert!(checklist["tasks"][0]["id"].is_null());
        assert_eq!(checklist["tasks"][0]["done"], true);

        let tasks: Vec<&serde_json::Value> = phases
            .iter()
            .flat_map(|p| p["sections"].as_array().unwrap())
            .flat_map(|s| s["tasks"].as_array().unwrap())
            .collect();
        assert_eq!(tasks.iter().filter(|t| t["id"].is_string()).count(), 154);
        let children: Vec<&str> =
            tasks.iter().flat_map(|t| t["children"].as_array().unwrap()).map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(children, ["T1180a", "T1180b", "T1180c", "T1180d", "T1180e"]);
        assert!(tasks.iter().all(|t| t.get("checkbox").is_none()));
        let order: Vec<&str> = v["order"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
        assert_eq!(order.len(), 10);
        assert_eq!(order[0], "Phase 10.1: Pre-Deployment Preparation");
        assert_eq!(order[9], "Phase 10.10: Post-Go-Live Support");
    }

    #[test]
    fn outline_shows_progress_per_phase() {
        let out = cutover(&["runbook", "config/runbooks/go-live.md"]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&"Phase 10.1: Pre-Deployment Preparation  0/26"), "{text}");
        assert!(lines.contains(&"Validation Checklist  9/9"));
        assert!(lines.contains(&"    [ ] T1189 [P] Smoke test: User authentication"));
        assert!(lines.contains(&"      [ ] T1180a Deploy AcquisitionService"));
        assert!(lines.contains(&"  10. Phase 10.10: Post-Go-Live Support"));
    }

    #[test]
    fn errors_go_to_stderr_with_file_and_line() {
        let dir = temp_dir("cli");
        let bad = dir.join("bad.md");
        std::fs::write(&bad, b"# T\n\n- [ ] T1 caf\xE9\n").unwrap();
        let out = cutover(&["runbook", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with(&format!("{}:3: invalid UTF-8 at byte 17", bad.display())), "{err}");
        assert!(out.stdout.is_empty());

        let out = cutover(&["runbook", dir.join("nope.md").to_str().unwrap(), "--json"]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("nope.md: no such file"), "{err}");
    }
}
