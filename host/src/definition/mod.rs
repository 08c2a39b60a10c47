//! Workflow definitions (SPEC WF-1..6): the model, parsing JSON into it with located errors,
//! context references (JSONPath, RFC 9535), conditions, interaction forms, and where a
//! definition's components are found. Pure: no storage, no platform; the engine
//! (`workflow/`) runs what this describes, and interactions (`interact/`) use its access
//! specs and forms.

mod available;
pub mod conditions;
pub mod form;
pub mod model;
pub mod parse;
pub mod path_shape;
pub mod refs;
pub mod resolver;

pub use model::Workflow;
pub use parse::parse;
pub use resolver::Resolver;
