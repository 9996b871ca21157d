//! The phase order from a `## Dependencies` section.
//!
//! Each line with arrows (`→`, `->`, `-->`, `=>`, `⇒`, `⟶`, `➡`, and `â†’`, the
//! arrow of a double-encoded file) is a chain of parts, `Name (T1137-T1162)`. A
//! part names a phase by, in turn:
//! 1. its task-ID range: the phase with the most task IDs in that range;
//! 2. its name, if the same name carries a range elsewhere in the section;
//! 3. its name matched to phase titles: the title holding every word of the
//!    name with the fewest other words (ambiguity names nothing);
//! 4. a parenthesised note, matched the same way (`Setup (Phase 1)`).
//!
//! `All …` (e.g. `All Complete → Documentation`) means every other phase named in
//! the section that does not come after the target. Parts that name no phase
//! are dropped with their arrows. The order is a topological sort of the named
//! phases, ties broken by file order; no arrows or a cycle give an empty order.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::Phase;

const ARROWS: &[&str] = &["-->", "->", "=>", "→", "⇒", "⟶", "➡", "\u{e2}\u{2020}\u{2019}", "\u{e2}\u{86}\u{92}"];

#[derive(Debug)]
struct Part {
    words: Vec<String>,
    range: Option<(u64, u64)>,
    notes: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Node {
    Phase(usize),
    All,
    Unknown,
}

pub(super) fn order(lines: &[&str], phases: &[Phase]) -> Vec<String> {
    let chains: Vec<Vec<Part>> =
        lines.iter().map(|l| split_arrows(strip_marker(l)).into_iter().map(part).collect::<Vec<_>>()).collect();
    let chains: Vec<Vec<Part>> = chains.into_iter().filter(|c| c.len() >= 2).collect();

    // Every task number with its phase, sorted: a range is then a slice found by two binary
    // searches, and each range is counted once (the work stays linear in the tasks).
    let mut numbered: Vec<(u64, usize)> = phases
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.tasks().filter_map(|t| t.id.as_deref().and_then(id_number)).map(move |n| (n, i)))
        .collect();
    numbered.sort_unstable();
    let memo: RefCell<HashMap<(u64, u64), Option<usize>>> = RefCell::new(HashMap::new());
    let by_range = |(lo, hi): (u64, u64)| -> Option<usize> {
        *memo.borrow_mut().entry((lo, hi)).or_insert_with(|| {
            let from = numbered.partition_point(|&(n, _)| n < lo);
            let to = numbered.partition_point(|&(n, _)| n <= hi);
            let mut counts: HashMap<usize, usize> = HashMap::new();
            for &(_, p) in numbered.get(from..to).unwrap_or_default() {
                *counts.entry(p).or_default() += 1;
            }
            // The most IDs wins; a tie goes to the earlier phase.
            counts.into_iter().max_by_key(|&(i, c)| (c, Reverse(i))).map(|(i, _)| i)
        })
    };
    let titles: Vec<Vec<String>> = phases.iter().map(|p| words(&p.title)).collect();

    // Names that carry a range somewhere teach us which phase they mean.
    // The first range a name carries is the one it keeps.
    let mut learned: HashMap<&[String], usize> = HashMap::new();
    for part in chains.iter().flatten() {
        if let (Some(range), false) = (part.range, part.words.is_empty())
            && let Some(p) = by_range(range)
        {
            learned.entry(&part.words).or_insert(p);
        }
    }

    let resolve = |part: &Part| -> Node {
        if let Some(p) = part.range.and_then(by_range) {
            return Node::Phase(p);
        }
        if let Some(&p) = learned.get(part.words.as_slice()) {
            return Node::Phase(p);
        }
        if let Some(p) = by_title(&part.words, &titles) {
            return Node::Phase(p);
        }
        if let Some(p) = part.notes.iter().find_map(|n| by_title(n, &titles)) {
            return Node::Phase(p);
        }
        if part.range.is_none() && part.words.first().is_some_and(|w| w == "all") {
            return Node::All;
        }
        Node::Unknown
    };

    let mut edges: Vec<(usize, usize)> = Vec::new();
    let mut after_all: Vec<usize> = Vec::new();
    for chain in &chains {
        let nodes: Vec<Node> = chain.iter().map(resolve).collect();
        for pair in nodes.windows(2) {
            match (pair[0], pair[1]) {
                (Node::Phase(a), Node::Phase(b)) if a != b => edges.push((a, b)),
                (Node::All, Node::Phase(b)) => after_all.push(b),
                _ => {}
            }
        }
    }
    let mut members: Vec<usize> = edges.iter().flat_map(|&(a, b)| [a, b]).chain(after_all.iter().copied()).collect();
    members.sort_unstable();
    members.dedup();

    // `All → B`: every member that B does not (already) lead to comes before B.
    let mut next = successors(&edges, phases.len());
    for &b in &after_all {
        let downstream = reachable(b, &next);
        for &m in &members {
            if m != b && !downstream[m] {
                edges.push((m, b));
                next[m].push(b);
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();

    topo_sort(&members, &edges, phases.len())
        .map(|order| order.into_iter().map(|i| phases[i].title.clone()).collect())
        .unwrap_or_default()
}

/// For each phase, the phases its edges lead to, in edge order.
fn successors(edges: &[(usize, usize)], n: usize) -> Vec<Vec<usize>> {
    let mut next = vec![Vec::new(); n];
    for &(a, b) in edges {
        next[a].push(b);
    }
    next
}

/// Kahn's algorithm, smallest phase index first among the ready ones. `None` on a cycle.
fn topo_sort(members: &[usize], edges: &[(usize, usize)], n: usize) -> Option<Vec<usize>> {
    let mut incoming = vec![0usize; n];
    for &(_, b) in edges {
        incoming[b] += 1;
    }
    let next = successors(edges, n);
    let mut ready: BinaryHeap<Reverse<usize>> =
        members.iter().filter(|&&m| incoming[m] == 0).map(|&m| Reverse(m)).collect();
    let mut out = Vec::with_capacity(members.len());
    while let Some(Reverse(m)) = ready.pop() {
        out.push(m);
        for &b in &next[m] {
            incoming[b] -= 1;
            if incoming[b] == 0 {
                ready.push(Reverse(b));
            }
        }
    }
    (out.len() == members.len()).then_some(out)
}

/// Which phases `from` leads to (itself included).
fn reachable(from: usize, next: &[Vec<usize>]) -> Vec<bool> {
    let mut seen = vec![false; next.len()];
    let mut todo = vec![from];
    while let Some(x) = todo.pop() {
        if std::mem::replace(&mut seen[x], true) {
            continue;
        }
        todo.extend(next[x].iter().copied());
    }
    seen
}

/// The title that holds every word of `name` with the fewest other words; `None` when tied.
fn by_title(name: &[String], titles: &[Vec<String>]) -> Option<usize> {
    if name.is_empty() {
        return None;
    }
    let mut fits =
        titles.iter().enumerate().filter(|(_, t)| name.iter().all(|w| t.contains(w))).map(|(i, t)| (t.len(), i));
    let first = fits.next()?;
    let (best, tied) = fits.fold((first, false), |(best, tied), cur| match cur.0.cmp(&best.0) {
        std::cmp::Ordering::Less => (cur, false),
        std::cmp::Ordering::Equal => (best, true),
        std::cmp::Ordering::Greater => (best, tied),
    });
    (!tied).then_some(best.1)
}

/// A line without its list marker (`- `, `* `, `+ `, `1. `).
fn strip_marker(line: &str) -> &str {
    let s = line.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let s = if digits > 0 && matches!(s.as_bytes().get(digits), Some(b'.' | b')')) { &s[digits + 1..] } else { s };
    s.trim_start_matches(['-', '*', '+']).trim()
}

fn split_arrows(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = line;
    loop {
        let next = ARROWS
            .iter()
            .filter_map(|a| rest.find(a).map(|at| (at, a.len())))
            .min_by_key(|&(at, len)| (at, Reverse(len)));
        match next {
            Some((at, len)) => {
                parts.push(&rest[..at]);
                rest = &rest[at + len..];
            }
            None => {
                parts.push(rest);
                return parts;
            }
        }
    }
}

/// `Blue Deployment (T1175-T1188)` → words of the name, the ID range, other notes.
fn part(s: &str) -> Part {
    let mut name = String::new();
    let mut notes: Vec<String> = Vec::new();
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' => {
                if depth == 0 {
                    notes.push(String::new());
                }
                depth += 1;
            }
            ')' if depth > 0 => depth -= 1,
            _ if depth > 0 => notes.last_mut().into_iter().for_each(|n| n.push(c)),
            _ => name.push(c),
        }
    }
    let mut ids: Vec<u64> = Vec::new();
    let mut plain = Vec::new();
    for note in &notes {
        let found = ids_in(note);
        if found.is_empty() {
            plain.push(words(note));
        }
        ids.extend(found);
    }
    let range = ids.iter().min().zip(ids.iter().max()).map(|(&lo, &hi)| (lo, hi));
    Part { words: words(&name), range, notes: plain }
}

/// Numbers of the task IDs (`T1137`) in a text.
fn ids_in(s: &str) -> Vec<u64> {
    let b = s.as_bytes();
    (0..b.len())
        .filter(|&i| b[i] == b'T' && (i == 0 || !b[i - 1].is_ascii_alphanumeric()))
        .filter_map(|i| {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            s.get(i + 1..i + 1 + digits)?.parse().ok()
        })
        .collect()
}

/// The number of a task ID: `T1180a` → 1180.
fn id_number(id: &str) -> Option<u64> {
    let digits = id.strip_prefix('T')?;
    let end = digits.bytes().take_while(u8::is_ascii_digit).count();
    digits[..end].parse().ok()
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use proptest::prelude::*;

    // The order as computed before it was made linear, kept to check the answers stay the same.
    fn order_before(lines: &[&str], phases: &[Phase]) -> Vec<String> {
        let chains: Vec<Vec<Part>> =
            lines.iter().map(|l| split_arrows(strip_marker(l)).into_iter().map(part).collect::<Vec<_>>()).collect();
        let chains: Vec<Vec<Part>> = chains.into_iter().filter(|c| c.len() >= 2).collect();

        let numbers: Vec<Vec<u64>> =
            phases.iter().map(|p| p.tasks().filter_map(|t| t.id.as_deref().and_then(id_number)).collect()).collect();
        let by_range = |(lo, hi): (u64, u64)| -> Option<usize> {
            let counts = numbers.iter().map(|ns| ns.iter().filter(|&&n| lo <= n && n <= hi).count());
            let (best, count) = counts.enumerate().max_by_key(|&(i, c)| (c, Reverse(i)))?;
            (count > 0).then_some(best)
        };
        let titles: Vec<Vec<String>> = phases.iter().map(|p| words(&p.title)).collect();

        // Names that carry a range somewhere teach us which phase they mean.
        let mut learned: Vec<(&[String], usize)> = Vec::new();
        for part in chains.iter().flatten() {
            if let (Some(range), false) = (part.range, part.words.is_empty())
                && let Some(p) = by_range(range)
            {
                learned.push((&part.words, p));
            }
        }

        let resolve = |part: &Part| -> Node {
            if let Some(p) = part.range.and_then(by_range) {
                return Node::Phase(p);
            }
            if let Some(&(_, p)) = learned.iter().find(|(w, _)| *w == part.words.as_slice()) {
                return Node::Phase(p);
            }
            if let Some(p) = by_title(&part.words, &titles) {
                return Node::Phase(p);
            }
            if let Some(p) = part.notes.iter().find_map(|n| by_title(n, &titles)) {
                return Node::Phase(p);
            }
            if part.range.is_none() && part.words.first().is_some_and(|w| w == "all") {
                return Node::All;
            }
            Node::Unknown
        };

        let mut edges: Vec<(usize, usize)> = Vec::new();
        let mut after_all: Vec<usize> = Vec::new();
        for chain in &chains {
            let nodes: Vec<Node> = chain.iter().map(resolve).collect();
            for pair in nodes.windows(2) {
                match (pair[0], pair[1]) {
                    (Node::Phase(a), Node::Phase(b)) if a != b => edges.push((a, b)),
                    (Node::All, Node::Phase(b)) => after_all.push(b),
                    _ => {}
                }
            }
        }
        let mut members: Vec<usize> =
            edges.iter().flat_map(|&(a, b)| [a, b]).chain(after_all.iter().copied()).collect();
        members.sort_unstable();
        members.dedup();

        // `All → B`: every member that B does not (already) lead to comes before B.
        for &b in &after_all {
            let downstream = reachable_before(b, &edges, phases.len());
            for &m in &members {
                if m != b && !downstream[m] {
                    edges.push((m, b));
                }
            }
        }
        edges.sort_unstable();
        edges.dedup();

        topo_sort_before(&members, &edges, phases.len())
            .map(|order| order.into_iter().map(|i| phases[i].title.clone()).collect())
            .unwrap_or_default()
    }

    /// (before) Kahn's algorithm, smallest phase index first among the ready ones. `None` on a cycle.
    fn topo_sort_before(members: &[usize], edges: &[(usize, usize)], n: usize) -> Option<Vec<usize>> {
        let mut incoming = vec![0usize; n];
        for &(_, b) in edges {
            incoming[b] += 1;
        }
        let mut ready: BinaryHeap<Reverse<usize>> =
            members.iter().filter(|&&m| incoming[m] == 0).map(|&m| Reverse(m)).collect();
        let mut out = Vec::with_capacity(members.len());
        while let Some(Reverse(m)) = ready.pop() {
            out.push(m);
            for &(a, b) in edges {
                if a == m {
                    incoming[b] -= 1;
                    if incoming[b] == 0 {
                        ready.push(Reverse(b));
                    }
                }
            }
        }
        (out.len() == members.len()).then_some(out)
    }

    /// Which phases `from` leads to (itself included).
    fn reachable_before(from: usize, edges: &[(usize, usize)], n: usize) -> Vec<bool> {
        let mut seen = vec![false; n];
        let mut todo = vec![from];
        while let Some(x) = todo.pop() {
            if std::mem::replace(&mut seen[x], true) {
                continue;
            }
            todo.extend(edges.iter().filter(|&&(a, _)| a == x).map(|&(_, b)| b));
        }
        seen
    }

    /// Small runbooks whose dependency lines mix ranges, names, notes, `All` and cycles.
    fn runbook_with_deps() -> impl Strategy<Value = String> {
        let phase = (0usize..4, proptest::collection::vec(0u64..30, 0..5));
        let line = proptest::collection::vec((0usize..8, proptest::option::of((0u64..30, 0u64..8))), 1..4);
        (proptest::collection::vec(phase, 1..6), proptest::collection::vec(line, 0..5)).prop_map(|(phases, lines)| {
            const NAMES: [&str; 8] =
                ["Setup", "Build Things", "Ship", "All Complete", "Blue Deploy", "Green", "Deploy", "Nowhere"];
            let mut md = String::new();
            for (title, ids) in &phases {
                md.push_str(&format!("## Phase {title}: {}\n", NAMES[*title]));
                for id in ids {
                    md.push_str(&format!("- [ ] T{id:03} task\n"));
                }
            }
            md.push_str("## Dependencies\n");
            for chain in &lines {
                let parts: Vec<String> = chain
                    .iter()
                    .map(|(name, range)| match range {
                        Some((lo, len)) => format!("{} (T{lo:03}-T{:03})", NAMES[*name], lo + len),
                        None => NAMES[*name].to_string(),
                    })
                    .collect();
                md.push_str(&format!("- {}\n", parts.join(" → ")));
            }
            md
        })
    }

    proptest! {
        #[test]
        fn the_order_is_the_same_as_before(md in runbook_with_deps()) {
            let rb = parse(md.as_bytes()).unwrap();
            let section = md.split("## Dependencies\n").nth(1).unwrap_or_default();
            let lines: Vec<&str> = section.lines().collect();
            prop_assert_eq!(order(&lines, &rb.phases), order_before(&lines, &rb.phases));
            prop_assert_eq!(&rb.order, &order_before(&lines, &rb.phases));
        }
    }

    fn order_of(md: &str) -> Vec<String> {
        parse(md.as_bytes()).unwrap().order
    }

    const PHASES: &str = "## Phase 1: Setup\n- [ ] T001 a\n- [ ] T002 b\n\
        ## Phase 2: Build Things\n- [ ] T003 c\n\
        ## Phase 3: Ship\n- [ ] T004 d\n- [ ] T005 e\n";

    #[test]
    fn splits_on_every_arrow_kind() {
        assert_eq!(
            split_arrows("a → b -> c --> d => e ⇒ f ⟶ g ➡ h"),
            ["a ", " b ", " c ", " d ", " e ", " f ", " g ", " h"]
        );
        assert_eq!(split_arrows("a \u{e2}\u{2020}\u{2019} b"), ["a ", " b"]);
        assert_eq!(split_arrows("no arrow"), ["no arrow"]);
    }

    #[test]
    fn parts_have_names_ranges_and_notes() {
        let p = part(" Blue Deployment (T1175-T1188) ");
        assert_eq!((p.words, p.range), (vec!["blue".to_string(), "deployment".to_string()], Some((1175, 1188))));
        let p = part("Traffic Cutover (24h stable)");
        assert_eq!(p.range, None);
        assert_eq!(p.notes, vec![vec!["24h".to_string(), "stable".to_string()]]);
        assert_eq!(part("X (T5, T2, T9)").range, Some((2, 9)));
        assert_eq!(part("X (T99999999999999999999999)").range, None);
        assert_eq!(part("X (unclosed T3").range, Some((3, 3)));
    }

    #[test]
    fn ranges_map_to_the_phase_holding_those_ids() {
        let md = format!("{PHASES}## Dependencies\n```\nA (T004-T005) → B (T001-T002)\nB → C (T003)\n```\n");
        assert_eq!(order_of(&md), ["Phase 3: Ship", "Phase 1: Setup", "Phase 2: Build Things"]);
    }

    #[test]
    fn names_match_titles_word_by_word() {
        let md = format!("{PHASES}## Dependencies\n- Setup -> Build -> Ship\n");
        assert_eq!(order_of(&md), ["Phase 1: Setup", "Phase 2: Build Things", "Phase 3: Ship"]);
        let md = format!("{PHASES}## Dependencies\nfoo (Phase 3) → bar (Phase 1)\n");
        assert_eq!(order_of(&md), ["Phase 3: Ship", "Phase 1: Setup"]);
    }

    #[test]
    fn all_means_every_other_named_phase() {
        let md = format!("{PHASES}## Dependencies\nAll Complete → Setup\nShip → Build\n");
        assert_eq!(order_of(&md), ["Phase 3: Ship", "Phase 2: Build Things", "Phase 1: Setup"]);
    }

    #[test]
    fn unresolvable_cyclic_or_arrowless_sections_give_no_order() {
        for deps in ["Setup → Ship → Setup", "just prose here", "Nothing → Nowhere", "", "→ → →"] {
            let md = format!("{PHASES}## Dependencies\n{deps}\n");
            assert!(order_of(&md).is_empty(), "{deps:?}");
        }
        assert!(order_of(PHASES).is_empty());
    }

    #[test]
    fn ambiguous_names_name_nothing() {
        let md = "## Blue Deploy\n- [ ] T1 a\n## Green Deploy\n- [ ] T2 b\n## Dependencies\nDeploy → Green\n";
        // `Deploy` fits both titles equally well: it names nothing, so no arrow is left.
        assert!(order_of(md).is_empty());
        // Fewest other words wins: `Go-Live` is `Go-Live`, not `Post-Go-Live`.
        let md = "## Post-Go-Live\n- [ ] T1 a\n## Go-Live\n- [ ] T2 b\n## Dependencies\nGo-Live → Post-Go-Live\n";
        assert_eq!(order_of(md), ["Go-Live", "Post-Go-Live"]);
    }
}
