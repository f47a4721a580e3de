fn main() -> std::process::ExitCode {
    p1_serve::main()
}
