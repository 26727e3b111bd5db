"""The labeling domain: projects, prompts, samples, pairs, assignments and comparisons."""
