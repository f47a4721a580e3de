//! p1-report's integration tests (issue 25): the real binary over readings built for the
//! purpose, whose figures are known, and the SVG it draws read back as XML.

mod report;
