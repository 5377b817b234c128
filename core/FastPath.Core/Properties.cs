// Assembly-wide settings: locals are not zeroed on the hot paths (every stackalloc is fully written before it is read).
[module: System.Runtime.CompilerServices.SkipLocalsInit]
