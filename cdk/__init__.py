"""The CDK app's constructs: topic, function, trigger manager, and the stack composing them.

Import names from ``aws_cdk`` (never ``import aws_cdk as cdk``, which this package would shadow).
"""
