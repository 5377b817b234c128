// The runner under test is Linux-only (/proc, taskset, the peers' Debian paths); so are its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
