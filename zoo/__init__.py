"""GAN Zoo: GAN model families in a Hub-native (diffusers) format, their pipelines and a registry.

The component classes are re-exported here because diffusers records a component as
``["zoo", "ClassName"]`` in ``model_index.json`` and looks the class up on this package when
loading a saved pipeline.
"""
