//! The shape every core module of a step must have, whichever instance allocator runs it:
//! at most one defined linear memory and one defined table per core module, the pooling
//! allocator's per-module limits (`engine.rs`). One-shot processes allocate on demand, which
//! has no such limit, so without this check a step could pass `flowhost step run` and then
//! fail to instantiate under `serve`. Checked once, when a component is compiled (a cached
//! artifact exists only for a component that passed).

use wasmparser::{Encoding, Parser, Payload};

/// Defined linear memories a core module may have (the pool's `max_memories_per_module`).
pub const MAX_MEMORIES_PER_MODULE: u32 = 1;
/// Defined tables a core module may have (the pool's `max_tables_per_module`).
pub const MAX_TABLES_PER_MODULE: u32 = 1;

/// `Ok` if every core module in `bytes` keeps to the limits above; otherwise what is wrong,
/// naming the module by its position. Bytes this parser cannot read are left to the
/// compiler's own error.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    // Counts of the module being read, innermost last (components nest modules).
    let mut modules: Vec<Option<(u32, u32)>> = Vec::new();
    let mut seen = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else {
            return Ok(());
        };
        match payload {
            Payload::Version { encoding, .. } => modules.push(match encoding {
                Encoding::Module => {
                    seen += 1;
                    Some((0, 0))
                }
                Encoding::Component => None,
            }),
            Payload::MemorySection(reader) => {
                if let Some(Some(counts)) = modules.last_mut() {
                    counts.0 += reader.count();
                }
            }
            Payload::TableSection(reader) => {
                if let Some(Some(counts)) = modules.last_mut() {
                    counts.1 += reader.count();
                }
            }
            Payload::End(_) => {
                if let Some(Some((memories, tables))) = modules.pop() {
                    let which = format!("core module {seen}");
                    if memories > MAX_MEMORIES_PER_MODULE {
                        return Err(format!(
                            "{which} defines {memories} linear memories; a step's core modules \
                             may define at most {MAX_MEMORIES_PER_MODULE} each"
                        ));
                    }
                    if tables > MAX_TABLES_PER_MODULE {
                        return Err(format!(
                            "{which} defines {tables} tables; a step's core modules may define \
                             at most {MAX_TABLES_PER_MODULE} each"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A core module whose only section defines `tables` funcref tables of size 0.
    fn module_with_tables(tables: u8) -> Vec<u8> {
        let mut section = vec![tables];
        for _ in 0..tables {
            section.extend([0x70, 0x00, 0x00]);
        }
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.push(0x04);
        module.push(u8::try_from(section.len()).expect("small"));
        module.extend(section);
        module
    }

    /// A component holding `module` as its one core module.
    fn component_of(module: &[u8]) -> Vec<u8> {
        let mut component = b"\0asm\x0d\0\x01\0".to_vec();
        component.push(0x01);
        component.push(u8::try_from(module.len()).expect("small"));
        component.extend(module);
        component
    }

    #[test]
    fn a_core_module_with_more_tables_than_a_pool_slot_holds_is_refused() {
        assert_eq!(check(&component_of(&module_with_tables(1))), Ok(()));
        let err = check(&component_of(&module_with_tables(2))).expect_err("two tables");
        assert!(err.contains("core module 1 defines 2 tables"), "{err}");
        assert!(err.contains("at most 1"), "{err}");
        // A plain module (not a component) is held to the same.
        assert!(check(&module_with_tables(2)).is_err());
    }

    #[test]
    fn unreadable_bytes_are_left_to_the_compiler() {
        assert_eq!(check(b"not wasm at all"), Ok(()));
    }
}
