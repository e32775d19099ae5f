fn main() -> std::process::ExitCode {
    lockerd::cli::main()
}
