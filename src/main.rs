fn main() {
    // Before anything can start a child: an inherited "ignore SIGCHLD" would
    // make every wait for a step or for git fail (ECHILD).
    baton::os::reset_sigchld();
    std::process::exit(baton::cli::main());
}
