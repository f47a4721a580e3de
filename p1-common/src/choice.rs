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
/// assert_eq!("left".parse::<Way>().unwrap_err(), "'left' is not a way: up, down");
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
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!("'{text}' is not {}: {}", $what, Self::NAMES.join(", "))),
                }
            }
        }
    };
}
