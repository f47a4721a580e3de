//! p1-prices against local HTTP servers that answer as each source documents (ENTSO-E's
//! market documents and acknowledgements, EnergyZero's JSON); the real services are never
//! asked.

mod fetch;
