fn main() -> std::process::ExitCode {
    p1_report::main()
}
