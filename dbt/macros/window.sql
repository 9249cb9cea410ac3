{# The partition window Dagster passes as vars (inclusive event days). #}
{% macro window_start() -%}
    cast('{{ var("min_date") }}' as date)
{%- endmacro %}

{% macro window_end() -%}
    cast('{{ var("max_date") }}' as date)
{%- endmacro %}

{% macro in_window(column) -%}
    {{ column }} between {{ window_start() }} and {{ window_end() }}
{%- endmacro %}

{# Incremental strategy `replace_window`: delete the window's rows from the mart, then insert
   the window's fresh rows, so re-running a partition is idempotent and rows that vanished
   upstream vanish here too. The mart names its window column in `window_column`. Plain SQL,
   so it works on DuckDB and Postgres alike. #}
{% macro get_incremental_replace_window_sql(arg_dict) %}
    {%- set column = config.require('window_column') -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }} where {{ in_window(column) }};
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{% endmacro %}
