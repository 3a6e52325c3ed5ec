"""The binaries (`dfadv-*` console scripts; `tools/*.py` are entry points onto them).

Each module defines its absl flags and a `main(argv)` that parses nothing itself: it turns
flags into arguments of library calls. `app.run` starts one: `--help` lists the binary's
own flags, and an error that a user can cause ends as one line naming the input
(`--traceback` shows the Python traceback instead).
"""
