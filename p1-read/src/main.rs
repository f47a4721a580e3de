fn main() -> std::process::ExitCode {
    p1_read::main()
}
