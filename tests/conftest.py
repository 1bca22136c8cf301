from hypothesis import settings

# Property tests check behaviour, never speed: a busy 2-core CI machine must not fail them.
settings.register_profile("scorer", deadline=None, print_blob=True)
settings.load_profile("scorer")
