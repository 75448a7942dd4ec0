"""Reading and writing files: the fast checked CSV reader and its cache, atomic
writes that never leave a broken file, and the synthetic demo data set."""
