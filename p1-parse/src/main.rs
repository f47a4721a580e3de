fn main() -> std::process::ExitCode {
    p1_parse::main()
}
