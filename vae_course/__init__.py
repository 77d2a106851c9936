"""vae_course"""
