"""python -m bench [access ...]: run the named benchmarks (all by default) and print their figures."""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = ["access", "imports", "dashboard", "pages"]


def setup_django():
    sqlite = ROOT / "var" / "bench.sqlite3"
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        sqlite.parent.mkdir(exist_ok=True)
        sqlite.unlink(missing_ok=True)
        url = f"sqlite:///{sqlite}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url.split(":", 1)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suites", nargs="*", help=f"any of {SUITES} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for trying the bench itself")
    parser.add_argument("--scale", action="store_true", help="pages: also the manager's dashboard at 1,000,000 leads")
    args = parser.parse_args()
    backend = setup_django()
    print(f"Benchmarks on {backend}; times are medians of repeated runs, ratios are what to read.\n")
    from django.core.management import call_command

    for name in args.suites or SUITES:
        call_command("flush", interactive=False, verbosity=0)  # each suite builds its own data
        module = __import__(f"bench.{name}", fromlist=["run"])
        options = {"scale": True} if args.scale and name == "pages" else {}
        module.run(quick=args.quick, **options)
        print()


if __name__ == "__main__":
    main()
