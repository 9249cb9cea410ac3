{# Layers get plain schema names (staging, intermediate, gold) on every target, instead of
   dbt's default `<target schema>_<custom schema>`. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
