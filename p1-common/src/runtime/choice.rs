//! Enums chosen by name, on a command line or in a file: the names are declared once with the
//! variants, and the parsing and the list for help texts follow.

/// Declares an enum whose variants are chosen by name:
///
/// ```
/// p1_common::named_enum! {
///     /// Which way.
///     pub enum Way ("a way") {
///         Up = "up",
///         Down = "down",
///     }
/// }
/// assert_eq!("up".parse::<Way>(), Ok(Way::Up));
/// assert_eq!("left".parse::<Way>().unwrap_err().to_string(), "'left' is not a way: up, down");
/// assert_eq!(Way::NAMES, ["up", "down"]);
/// ```
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every name, in declaration order.
            $vis const NAMES: &'static [&'static str] = &[$($text),+];

            /// This one's name.
            #[allow(dead_code, reason = "not every enum is written back by name")]
            $vis fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::runtime::choice::NotOneOf;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::runtime::choice::NotOneOf {
                        text: text.to_string(),
                        what: $what,
                        names: Self::NAMES,
                    }),
                }
            }
        }
    };
}

/// A name that is none of an enum's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotOneOf {
    /// The name given.
    pub text: String,
    /// What the names name ("a mode").
    pub what: &'static str,
    /// The names it may be.
    pub names: &'static [&'static str],
}

impl std::fmt::Display for NotOneOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "'{}' is not {}: {}",
            self.text,
            self.what,
            self.names.join(", ")
        )
    }
}

impl std::error::Error for NotOneOf {}
