//! Interned names: the few distinct strings a report meets millions of times (stage ids,
//! pipelines, owners, sources, reasons), each kept once and named by a small number, so that a
//! report over a million leads compares and counts numbers, not strings.

use rustc_hash::FxHashMap;

/// A name interned in [`Names`]; meaningful only with the `Names` that gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(u32);

impl Name {
    /// Its place in its `Names`, from 0: dense, so tables may be indexed by it.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Clone, Debug, Default)]
pub struct Names {
    ids: FxHashMap<Box<str>, Name>,
    names: Vec<Box<str>>,
}

impl Names {
    /// The name of `s`, interning it the first time.
    pub fn intern(&mut self, s: &str) -> Name {
        if let Some(&name) = self.ids.get(s) {
            return name;
        }
        let name = Name(u32::try_from(self.names.len()).expect("fewer than 4 billion distinct names"));
        self.names.push(s.into());
        self.ids.insert(s.into(), name);
        name
    }

    /// The name of `s` if it was interned.
    pub fn get(&self, s: &str) -> Option<Name> {
        self.ids.get(s).copied()
    }

    pub fn resolve(&self, name: Name) -> &str {
        &self.names[name.index()]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_is_interned_once() {
        let mut names = Names::default();
        let a = names.intern("mql");
        let b = names.intern("sql");
        assert_eq!(names.intern("mql"), a);
        assert_ne!(a, b);
        assert_eq!((names.resolve(a), names.resolve(b), names.len()), ("mql", "sql", 2));
    }
}
