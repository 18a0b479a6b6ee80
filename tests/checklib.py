"""What the Python checks of the tests share: the one line each prints, and its exit status."""


def verdict(problems, failed, passed, most=8):
    """Prints FAILED followed by the first MOST problems, or PASSED if there are none; returns the exit
    status, 1 or 0."""
    if problems:
        print(failed + "; ".join(problems[:most]))
        return 1
    print(passed)
    return 0
